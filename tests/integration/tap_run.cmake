# `lwipsim run` over a TAP into a network namespace lwipsim makes, with the managed broker inside
# it (issue 3), checked with tshark, ip and /proc (tap_run.py). Label tap: needs root and
# /dev/net/tun; the script exits 77 with the reason otherwise, which CTest reports as skipped.
foreach(check run no_privilege cleanup_on_failure)
    add_test(NAME tap.run.${check}
             COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/tap_run.py $<TARGET_FILE:lwipsim>
                     ${CMAKE_SOURCE_DIR}/tests/data/scenarios ${CMAKE_BINARY_DIR}/tap-results/${check}
                     ${check})
    # Virtual time: seconds of wall time; the bound only catches a hang.
    set_tests_properties(tap.run.${check} PROPERTIES LABELS tap TIMEOUT 180 SKIP_RETURN_CODE 77)
endforeach()
