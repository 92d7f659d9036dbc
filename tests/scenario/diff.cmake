# lwipsim diff on real runs of the field case: same seed twice -> nothing moved (exit 0);
# lwip.tcp_maxrtx 12 vs 6 -> pcbs.max_close_to_free_s moved down (exit 1); bad input exit 2.
add_test(NAME scenario.diff_field_case
         COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/diff_check.py $<TARGET_FILE:lwipsim>
                 ${CMAKE_SOURCE_DIR}/scenarios/field_case.yaml)
set_tests_properties(scenario.diff_field_case PROPERTIES LABELS scenario TIMEOUT 600)
