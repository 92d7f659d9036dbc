/* A host program for tests/integration/vclock_determinism_test.cpp: prints what it draws from
 * getentropy and getrandom (hex), its getpid, and its real pid from the kernel, one per line. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

static void print_hex(const unsigned char* b, size_t n) {
    for (size_t i = 0; i < n; ++i)
        printf("%02x", b[i]);
    printf("\n");
}

int main(void) {
    unsigned char a[48], b[16];
    if (getentropy(a, sizeof a) != 0 || getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return 1;
    print_hex(a, sizeof a);
    print_hex(b, sizeof b);
    printf("%d\n%ld\n", (int)getpid(), (long)syscall(SYS_getpid));
    return 0;
}
