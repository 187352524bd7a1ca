#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Entry point for building, demonstrating and testing mvent on Debian.
#
#   ./run.sh demo [args]       build and run the live event demo (four processes, one pool)
#   ./run.sh test [--sanitize] configure, build and run the whole test suite
#
# Both commands first install the Debian packages below that are missing.
# MVENT_BUILD_DIR sets the build directory (default: build, relative to the repository root).
set -euo pipefail

# Debian packages that the build, the tests and the fuzz run need. Add new ones here.
REQUIRED_PACKAGES=(
    cmake
    g++
    ninja-build
    qt6-base-dev
    qt6-charts-dev
    libbenchmark-dev
    libzmq3-dev qt6-remoteobjects-dev libqt6remoteobjects6-bin libiceoryx-posh-dev iceoryx
    clang-14
    libclang-rt-14-dev
    util-linux
    # mvent-monitor's screenshot test runs under xvfb-run; libqt6svg6 draws its SVG icon.
    xvfb libqt6svg6
    # 'mvent stats --prometheus' and 'mvent metrics' use prometheus-cpp; the CLI tests check
    # their output with promtool from the prometheus package.
    prometheus-cpp-dev prometheus
)

# The fuzz build uses this compiler because libFuzzer ships only with clang.
FUZZ_CXX_COMPILER=clang++-14
BUILD_TYPE=RelWithDebInfo

root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$root_dir"
build_dir=${MVENT_BUILD_DIR:-build}
# Tests run in their own working directories, so paths handed to them must be absolute.
if [[ $build_dir != /* ]]; then
    build_dir=$root_dir/$build_dir
fi

usage() {
    cat <<EOF
Usage: ./run.sh demo [--duration SECONDS] [--file PATH] [--pool NAME]
       ./run.sh test [--sanitize]

demo   Builds mvent-demo and runs two producers (this machine's /proc counters and the lines
       of a text file) and two consumers in separate processes, with a live summary every
       second and a final table of events sent, received and lost and the delivery latency.
       Exits with 1 if an event was lost or a process failed, 2 for an invalid option.
       --duration SECONDS  how long the producers publish (default: 10)
       --file PATH         text file to stream (default: /usr/share/common-licenses/GPL-3)
       --pool NAME         pool to create and remove at the end (default: mvent-demo-PID)
       mvent-demo --help lists every option.
test   Builds everything in \$MVENT_BUILD_DIR (default: build) and runs ctest.
       --sanitize   builds in \$MVENT_BUILD_DIR-asan with AddressSanitizer and UBSan instead
       If tests/fuzz exists, also builds \$MVENT_BUILD_DIR-fuzz with clang and runs ctest -L fuzz.
EOF
}

# Installs the packages of REQUIRED_PACKAGES that dpkg does not report as installed.
install_missing_packages() {
    if ! command -v dpkg-query >/dev/null; then
        echo "run.sh: dpkg-query not found, so packages are not checked." \
            "Install these by hand: ${REQUIRED_PACKAGES[*]}" >&2
        return
    fi

    local missing=() package status
    for package in "${REQUIRED_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
        if [[ $status != "install ok installed" ]]; then
            missing+=("$package")
        fi
    done
    if ((${#missing[@]} == 0)); then
        return
    fi

    local as_root=()
    if ((EUID != 0)); then
        if ! command -v sudo >/dev/null; then
            echo "run.sh: missing packages ${missing[*]}, and sudo is not installed." \
                "Install them as root with apt-get install ${missing[*]}" >&2
            exit 1
        fi
        as_root=(sudo)
    fi

    echo "run.sh: installing missing packages: ${missing[*]}"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
}

# Configures the build directory $1 with the CMake options that follow, unless it is
# configured already. Later runs rely on cmake --build to re-run CMake when a file changed.
configure_once() {
    local dir=$1
    shift
    if [[ -f $dir/build.ninja || -f $dir/Makefile ]]; then
        return
    fi

    local generator=()
    if [[ ! -f $dir/CMakeCache.txt ]]; then
        generator=(-G Ninja)
    fi
    cmake -S "$root_dir" -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "$@"
}

# Runs ctest in the build directory $1 with the arguments that follow. MVENT_RUNTIME_DIR points
# at a new private directory, so no test reads or leaves pools in the user's runtime directory.
run_ctest() {
    local dir=$1
    shift
    local runtime_dir
    runtime_dir=$(mktemp -d "$dir/test-runtime.XXXXXX")
    chmod 0700 "$runtime_dir"

    local status=0
    MVENT_RUNTIME_DIR=$runtime_dir ctest --test-dir "$dir" --output-on-failure "$@" || status=$?
    rm -rf "$runtime_dir"
    return "$status"
}

run_demo() {
    install_missing_packages
    configure_once "$build_dir"
    cmake --build "$build_dir" --target mvent-demo
    "$build_dir/examples/demo/mvent-demo" "$@"
}

run_tests() {
    local sanitize=0 argument
    for argument in "$@"; do
        case $argument in
        --sanitize) sanitize=1 ;;
        *)
            echo "run.sh: unknown option for test: $argument" >&2
            usage >&2
            exit 2
            ;;
        esac
    done

    install_missing_packages

    local test_dir=$build_dir
    local options=()
    if ((sanitize)); then
        test_dir=$build_dir-asan
        options=(-DMVENT_SANITIZE=ON)
    fi
    configure_once "$test_dir" "${options[@]}"
    cmake --build "$test_dir"
    run_ctest "$test_dir" -j2

    if [[ -f tests/fuzz/CMakeLists.txt ]]; then
        local fuzz_dir=$build_dir-fuzz
        configure_once "$fuzz_dir" -DCMAKE_CXX_COMPILER="$FUZZ_CXX_COMPILER" \
            -DMVENT_FUZZ=ON -DMVENT_BUILD_BENCHMARKS=OFF
        # Only the fuzz targets: the rest of the clang tree would double the build time.
        cmake --build "$fuzz_dir" --target mvent_fuzz_targets
        run_ctest "$fuzz_dir" -L fuzz
    fi
}

command=${1:-}
if (($# > 0)); then
    shift
fi
case $command in
demo) run_demo "$@" ;;
test) run_tests "$@" ;;
-h | --help | help) usage ;;
'')
    echo "run.sh: missing command" >&2
    usage >&2
    exit 2
    ;;
*)
    echo "run.sh: unknown command '$command'" >&2
    usage >&2
    exit 2
    ;;
esac
