# SPDX-License-Identifier: MIT
# Installs the mvent build MVENT_BINARY_DIR into WORK_DIR/prefix, then configures, builds and
# runs the consumer project CONSUMER_SOURCE_DIR against that prefix only.
# Run with cmake -P; tests/CMakeLists.txt passes every variable below.
cmake_minimum_required(VERSION 3.21)

foreach(variable MVENT_BINARY_DIR CONSUMER_SOURCE_DIR WORK_DIR CONSUMER_GENERATOR
        CONSUMER_CXX_COMPILER)
    if(NOT DEFINED ${variable} OR "${${variable}}" STREQUAL "")
        message(FATAL_ERROR "RunConsumer.cmake: -D${variable}=... is missing")
    endif()
endforeach()

# Runs one step and stops the script with the step's name when the command fails.
function(run_step step)
    execute_process(COMMAND ${ARGN} COMMAND_ECHO STDOUT RESULT_VARIABLE result)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "package test: ${step} failed (${result})")
    endif()
endfunction()

set(prefix ${WORK_DIR}/prefix)
set(consumer_build_dir ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})

# cmake --install copies files without building them, so every installed target must be
# up to date first.
run_step("building the installed targets" ${CMAKE_COMMAND} --build ${MVENT_BINARY_DIR}
         --target mvent_core mvent)
run_step("installing the build" ${CMAKE_COMMAND} --install ${MVENT_BINARY_DIR} --prefix ${prefix})

set(configure_args
    -S ${CONSUMER_SOURCE_DIR}
    -B ${consumer_build_dir}
    -G ${CONSUMER_GENERATOR}
    -DCMAKE_CXX_COMPILER=${CONSUMER_CXX_COMPILER}
    -DCMAKE_PREFIX_PATH=${prefix})
if(CONSUMER_BUILD_TYPE)
    list(APPEND configure_args -DCMAKE_BUILD_TYPE=${CONSUMER_BUILD_TYPE})
endif()
# A library built with sanitizers only links into programs that use the same runtimes.
if(MVENT_SANITIZE)
    list(APPEND configure_args
        -DCMAKE_CXX_FLAGS=-fsanitize=address,undefined
        -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined)
endif()
run_step("configuring the consumer" ${CMAKE_COMMAND} ${configure_args})
run_step("building the consumer" ${CMAKE_COMMAND} --build ${consumer_build_dir})
run_step("running the consumer" ${consumer_build_dir}/mvent-package-consumer)
