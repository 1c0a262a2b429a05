# Build-time embedding of text files (SQL migrations, the OpenAPI document) into C++ sources.

set(C19AI_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_files.cmake)

# c19ai_embed_migrations(<module> <out.cpp> <files...>)
# Defines c19ai::<module>::Migrations() returning the module's migration files in name order.
function(c19ai_embed_migrations module out)
  string(REPLACE ";" "|" files "${ARGN}")
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DMODE=migrations -DMODULE=${module} -DOUT=${out} "-DFILES=${files}"
            -P ${C19AI_EMBED_SCRIPT}
    DEPENDS ${ARGN} ${C19AI_EMBED_SCRIPT}
    COMMENT "Embedding ${module} migrations"
    VERBATIM)
endfunction()

# c19ai_embed_text(<out.cpp> <c++ function name> <file>)
# Defines `std::string_view <function>()` returning the file's content.
function(c19ai_embed_text out function file)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DMODE=text -DFUNCTION=${function} -DOUT=${out} "-DFILES=${file}"
            -P ${C19AI_EMBED_SCRIPT}
    DEPENDS ${file} ${C19AI_EMBED_SCRIPT}
    COMMENT "Embedding ${file}")
endfunction()
