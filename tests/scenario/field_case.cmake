# The field case as a regression suite: exit 0 means every expectation of every variant held.
add_test(NAME scenario.field_case
         COMMAND $<TARGET_FILE:lwipsim> run ${CMAKE_SOURCE_DIR}/scenarios/field_case.yaml
                 --out ${CMAKE_BINARY_DIR}/scenario-results/field_case --no-plots)
set_tests_properties(scenario.field_case PROPERTIES LABELS scenario TIMEOUT 300)

# Same scenario and seed twice: events.jsonl must be byte-identical (docs/results.md says why
# the captures are compared by their frame structure instead of their bytes).
add_test(NAME scenario.determinism
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/determinism.sh $<TARGET_FILE:lwipsim>
                 ${CMAKE_SOURCE_DIR}/scenarios/field_case.yaml ${CMAKE_BINARY_DIR}/scenario-results/determinism)
set_tests_properties(scenario.determinism PROPERTIES LABELS scenario TIMEOUT 300)

add_test(NAME scenario.validate_all
         COMMAND bash -c "$<TARGET_FILE:lwipsim> validate ${CMAKE_SOURCE_DIR}/scenarios/*.yaml")
set_tests_properties(scenario.validate_all PROPERTIES LABELS scenario)
