# The device's 32-bit build (issue 16; docs/design.md "The device in 32 bits"): the same GCC,
# -m32 (gcc-multilib), against Debian's i386 (multiarch) libraries that scripts/bootstrap
# installs. Used by cmake/ilp32_worker.cmake for the lwipsim-ilp32 sibling binary.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR i686)
# SSE2 arithmetic, not the x87's 80-bit registers: doubles (link rates, loss draws) then round
# as in the 64-bit build, so one seed makes the same decisions in both.
set(CMAKE_C_FLAGS_INIT "-m32 -msse2 -mfpmath=sse")
set(CMAKE_CXX_FLAGS_INIT "-m32 -msse2 -mfpmath=sse")
set(CMAKE_LIBRARY_ARCHITECTURE i386-linux-gnu)
# Only i386 libraries and pkg-config files; headers are shared (/usr/include) or multiarch.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/i386-linux-gnu/pkgconfig:/usr/share/pkgconfig")
