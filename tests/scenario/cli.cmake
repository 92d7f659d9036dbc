# The CLI (harness/cli): parallel vs serial runs, sweep shards + merge, exit codes, JUnit XML,
# --out checks, list of a folder with invalid files, reports/compare/plot of runs and sweeps.
# Short scenarios from tests/data/cli (a few simulated minutes, ~1-2 s of host time each).
foreach(case parallel shards exit_codes junit out_dir list reports)
    add_test(NAME scenario.cli_${case}
             COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/cli_test.py ${case} $<TARGET_FILE:lwipsim>
                     ${CMAKE_SOURCE_DIR}/tests/data/cli ${CMAKE_BINARY_DIR}/scenario-results/cli_${case})
    set_tests_properties(scenario.cli_${case} PROPERTIES LABELS scenario TIMEOUT 180)
endforeach()
