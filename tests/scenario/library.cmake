# The scenario library (scenarios/*.yaml besides the field case): one test per scenario; exit 0
# means every expectation of every variant held. Each runs in a few seconds of wall time.
foreach(name maxrtx6 random_loss bursty_loss link_flaps upstream_vs_esp throughput)
    add_test(NAME scenario.${name}
             COMMAND $<TARGET_FILE:lwipsim> run ${CMAKE_SOURCE_DIR}/scenarios/${name}.yaml
                     --out ${CMAKE_BINARY_DIR}/scenario-results/${name} --no-plots --quiet)
    set_tests_properties(scenario.${name} PROPERTIES LABELS scenario TIMEOUT 300)
endforeach()
