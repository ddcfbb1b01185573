# cmake -DDUMP=<creatify_promql_exprs_dump> -DPROMTOOL=<promtool> -DDASHBOARD=<json> -DOUT=<yaml>
#       -P check_dashboard_promql.cmake
# Fails unless promtool parses every query of the dashboard.
execute_process(COMMAND ${DUMP} ${DASHBOARD} ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "extracting the queries of ${DASHBOARD} failed (${rc})")
endif()
execute_process(COMMAND ${PROMTOOL} check rules ${OUT}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR
          "promtool rejects a dashboard query (${rc}); queries in ${OUT}:\n${out}${err}")
endif()
message(STATUS "${out}")
