#include "sim/host/cpu_claim.h"

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <unistd.h>

namespace lwipsim::host {
namespace {

// The allowed CPUs, the one this thread runs on now first: two workers started together then
// usually try different CPUs first.
std::vector<int> candidate_cpus(const cpu_set_t& allowed) {
    std::vector<int> cpus;
    const int current = sched_getcpu();
    if (current >= 0 && CPU_ISSET(current, &allowed))
        cpus.push_back(current);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &allowed) && cpu != current)
            cpus.push_back(cpu);
    }
    return cpus;
}

std::filesystem::path lock_file(const std::filesystem::path& lock_dir, int cpu) {
    return lock_dir / ("cpu" + std::to_string(cpu) + ".lock");
}

// The lock of `cpu`, held (fd >= 0), or -errno: -EWOULDBLOCK when another process holds it.
int lock_cpu(const std::filesystem::path& lock_dir, int cpu) {
    const int fd =
        ::open(lock_file(lock_dir, cpu).c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return -errno;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(fd);
        return -err;
    }
    return fd;
}

void say(std::string* why_not, std::string text) {
    if (why_not != nullptr)
        *why_not = std::move(text);
}

} // namespace

std::optional<CpuClaim> CpuClaim::claim(const std::filesystem::path& lock_dir,
                                        std::string* why_not) {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
        say(why_not, std::string("sched_getaffinity: ") + std::strerror(errno));
        return std::nullopt;
    }
    if (CPU_COUNT(&allowed) < 2) {
        say(why_not, "the process may run on one CPU only already");
        return std::nullopt;
    }
    std::error_code ec;
    std::filesystem::create_directories(lock_dir, ec);
    if (ec) {
        say(why_not, "cannot make " + lock_dir.string() + ": " + ec.message());
        return std::nullopt;
    }
    for (const int cpu : candidate_cpus(allowed)) {
        const int fd = lock_cpu(lock_dir, cpu);
        if (fd == -EWOULDBLOCK)
            continue;
        if (fd < 0) {
            say(why_not,
                "cannot open " + lock_file(lock_dir, cpu).string() + ": " + std::strerror(-fd));
            return std::nullopt;
        }
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0) {
            say(why_not, std::string("sched_setaffinity: ") + std::strerror(errno));
            ::close(fd);
            return std::nullopt;
        }
        return CpuClaim(cpu, fd);
    }
    say(why_not, "every allowed CPU is claimed by another lwipsim worker");
    return std::nullopt;
}

CpuClaim::CpuClaim(CpuClaim&& other) noexcept : cpu_(other.cpu_), lock_fd_(other.lock_fd_) {
    other.lock_fd_ = -1;
}

CpuClaim& CpuClaim::operator=(CpuClaim&& other) noexcept {
    if (this != &other) {
        if (lock_fd_ >= 0)
            ::close(lock_fd_);
        cpu_ = other.cpu_;
        lock_fd_ = other.lock_fd_;
        other.lock_fd_ = -1;
    }
    return *this;
}

CpuClaim::~CpuClaim() {
    if (lock_fd_ >= 0)
        ::close(lock_fd_); // releases the claim; the pin stays with the process until it ends
}

} // namespace lwipsim::host
