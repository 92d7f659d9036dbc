find_package(Python3 COMPONENTS Interpreter REQUIRED)

# One scenario check: tests/scenario/SCRIPT runs `lwipsim` on tests/data/scenarios/DATA.yaml
# (plus any extra arguments) and asserts on the result folder.
function(lwipsim_scenario_check name script data)
    add_test(NAME scenario.${name}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/${script}
                     $<TARGET_FILE:lwipsim>
                     ${CMAKE_SOURCE_DIR}/tests/data/scenarios/${data}.yaml ${ARGN})
    set_tests_properties(scenario.${name} PROPERTIES LABELS scenario TIMEOUT 300)
endfunction()

lwipsim_scenario_check(event_trigger triggers_check.py trigger_app_close)
lwipsim_scenario_check(tcp_keepalive keepalive_check.py tcp_keepalive)
lwipsim_scenario_check(realtime_mode realtime_check.py tcp_keepalive)

# Issue 12: faults, time and the MQTT client as a firmware engineer meets them.
lwipsim_scenario_check(reset reset_check.py reset_instant)
lwipsim_scenario_check(run_end run_end_check.py run_end_cut)
lwipsim_scenario_check(write_timeout write_timeout_check.py write_timeout)
lwipsim_scenario_check(broker_unreachable broker_unreachable_check.py e2e_basic)
lwipsim_scenario_check(client_buffers client_buffers_check.py tcp_keepalive)
# esp-mqtt's outbox on the device heap: QoS 1 messages held until PUBACK or expiry.
lwipsim_scenario_check(outbox_heap outbox_heap_check.py outbox_heap)

# Same seed twice under loss with QoS 1: with the broker on virtual time the runs are identical;
# on the wall clock, what must repeat, and the warning when it need not.
foreach(clock virtual wall)
    lwipsim_scenario_check(determinism_lossy_qos1_${clock} determinism_lossy.py lossy_qos1 ${clock})
endforeach()

# The managed broker on virtual time (issue 13): keepalive expiry read from broker.log.
lwipsim_scenario_check(broker_keepalive_expiry broker_keepalive_check.py broker_keepalive_expiry)
# The broker's own view in the results (issue 13): its keepalive expiry as an event, and the
# device's will at the harness's subscriber, at the same virtual instant.
lwipsim_scenario_check(broker_will broker_will_check.py broker_will_expiry)
# ... and of a takeover: the device's reconnect replaces its half-open session, the will goes out.
lwipsim_scenario_check(broker_takeover broker_takeover_check.py broker_will_takeover)
# The clock library is really loaded into mosquitto, and its path survives LD_PRELOAD.
lwipsim_scenario_check(broker_clock_environment broker_clock_env_check.py e2e_basic)
# ... and its lookahead: once the broker has closed the connection, slirp's own ticks towards a
# blackholed device wake it no more.
lwipsim_scenario_check(broker_closed_grant broker_grant_check.py broker_closed_grant)

# Same scenario and seed twice with the managed broker on virtual time (issue 13): every result
# file byte-identical, the broker's own log and TLS bytes included (a reconnect under loss, and
# a plain session).
lwipsim_scenario_check(determinism_broker_lossy determinism_broker_check.py lossy_qos1)
lwipsim_scenario_check(determinism_broker_basic determinism_broker_check.py e2e_basic)

# Issue 15: app.actions (scripted calls of the application), checked with tshark on device.pcap.
foreach(case drop_idle drop_unacked stop_start validation)
    add_test(NAME scenario.app_actions_${case}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/app_actions_check.py
                     $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios
                     ${CMAKE_BINARY_DIR}/scenario-results/app_actions_${case} ${case})
    set_tests_properties(scenario.app_actions_${case} PROPERTIES LABELS scenario TIMEOUT 300)
endforeach()
