# The CLI (harness/cli): parallel vs serial runs, sweep shards + merge, exit codes, JUnit XML;
# issue 11: --shard auto under each job engine's variables, merge's completeness checks, a
# sweep killed half way and resumed, paths the user may not read (as user nobody; skipped with
# exit 77 when the test cannot drop privileges), no heap budget shown as "unlimited";
# issue 12: --out checks, list of a folder with invalid files, reports/compare/plot of runs and
# sweeps; --cpu-pinning (each worker's CPU claim). Short scenarios from tests/data/cli (a few
# simulated minutes, ~1-2 s of host time each).
foreach(case parallel shards exit_codes junit shard_auto merge_checks resume permissions
             unlimited_heap out_dir list reports cpu_pinning)
    add_test(NAME scenario.cli_${case}
             COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/cli_test.py ${case} $<TARGET_FILE:lwipsim>
                     ${CMAKE_SOURCE_DIR}/tests/data/cli ${CMAKE_BINARY_DIR}/scenario-results/cli_${case})
    set_tests_properties(scenario.cli_${case} PROPERTIES LABELS scenario TIMEOUT 180
                         SKIP_RETURN_CODE 77)
endforeach()
