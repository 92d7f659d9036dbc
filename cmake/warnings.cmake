# Warning flags for lwipsim's own targets only (lwIP and mbedTLS keep their own flags).
function(lwipsim_warnings target)
    target_compile_options(${target} PRIVATE
        -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion
        $<$<BOOL:${LWIPSIM_WERROR}>:-Werror>)
endfunction()
