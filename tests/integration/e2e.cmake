# End-to-end proofs with peer tools (issues 3, 4, 5): each test runs `lwipsim run` on a small
# scenario from tests/data/scenarios and checks the result folder with tshark and the mosquitto
# clients (python3, standard library only). Label integration: real mosquitto on 127.0.0.1.
set(LWIPSIM_E2E_SCENARIOS ${CMAKE_SOURCE_DIR}/tests/data/scenarios)
set(LWIPSIM_E2E_WORK ${CMAKE_BINARY_DIR}/e2e-results)

function(lwipsim_e2e_test name script)
    add_test(NAME e2e.${name}
             COMMAND python3 ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/${script} $<TARGET_FILE:lwipsim>
                     ${LWIPSIM_E2E_SCENARIOS} ${LWIPSIM_E2E_WORK}/${name} ${ARGN})
    # Virtual time: each run takes seconds of wall time; the bound only catches a hang.
    set_tests_properties(e2e.${name} PROPERTIES LABELS integration TIMEOUT 180)
endfunction()

lwipsim_e2e_test(blackhole e2e_blackhole.py)
foreach(variant linger_0 linger_off linger_unavailable linger_off_maxrtx4)
    lwipsim_e2e_test(${variant} e2e_linger.py ${variant})
endforeach()
lwipsim_e2e_test(mosquitto_clients e2e_mosquitto_clients.py)
lwipsim_e2e_test(tls_decrypt e2e_tls_decrypt.py)
lwipsim_e2e_test(mqtt_auth_will e2e_mqtt_auth_will.py)
