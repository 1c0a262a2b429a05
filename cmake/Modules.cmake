# Declares the project's modules and enforces ARCHITECTURE.md's dependency arrows.
#
#   c19ai_module(<name> SOURCES ... [DEPS <module>...] [PUBLIC_LIBS ...] [PRIVATE_LIBS ...]
#                [HTTP_SOURCES ...])
#
# creates the static library c19ai_<name> (and c19ai_<name>_http when HTTP_SOURCES are given, linking
# c19ai_<name> and c19ai_http). DEPS may only name modules that ARCHITECTURE.md lets <name> use; any
# other edge fails the configure step, because CMake itself happily links cycles between static
# libraries. SQL files in src/<name>/migrations/ are embedded and exposed as
# c19ai::<name>::Migrations() (declared by the module's public header).

set(C19AI_ARROWS_common "")
set(C19AI_ARROWS_db "")
set(C19AI_ARROWS_cache "")
set(C19AI_ARROWS_events "")
set(C19AI_ARROWS_storage "db")
set(C19AI_ARROWS_queue "db")
set(C19AI_ARROWS_http "")
set(C19AI_ARROWS_auth "db;cache;events")
set(C19AI_ARROWS_ml "")
set(C19AI_ARROWS_registry "db;storage;cache;events;ml")
set(C19AI_ARROWS_validation "db;storage;queue;events")
set(C19AI_ARROWS_training "db;storage;queue;events;ml;registry;validation")
set(C19AI_ARROWS_inference "db;storage;cache;queue;events;ml;registry;validation")
set(C19AI_ARROWS_realtime "http;events;auth")
set(C19AI_ARROWS_app "ALL")

set_property(GLOBAL PROPERTY C19AI_MODULES "")

function(_c19ai_check_edge from to)
  if(to STREQUAL "common")
    return()
  endif()
  if(NOT DEFINED C19AI_ARROWS_${from})
    message(FATAL_ERROR "module '${from}' is not in ARCHITECTURE.md's module list")
  endif()
  if(C19AI_ARROWS_${from} STREQUAL "ALL")
    return()
  endif()
  list(FIND C19AI_ARROWS_${from} ${to} found)
  if(found EQUAL -1)
    message(FATAL_ERROR "module '${from}' may not depend on '${to}' "
      "(ARCHITECTURE.md allows: common ${C19AI_ARROWS_${from}})")
  endif()
endfunction()

function(c19ai_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;PUBLIC_LIBS;PRIVATE_LIBS;HTTP_SOURCES;HTTP_PRIVATE_LIBS" ${ARGN})
  set(deps_targets "")
  foreach(dep IN LISTS M_DEPS)
    _c19ai_check_edge(${name} ${dep})
    list(APPEND deps_targets c19ai_${dep})
  endforeach()

  file(GLOB migration_files CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/migrations/*.sql)
  if(migration_files)
    set(gen ${C19AI_GENERATED_DIR}/migrations_${name}.cpp)
    c19ai_embed_migrations(${name} ${gen} ${migration_files})
    list(APPEND M_SOURCES ${gen})
  endif()

  add_library(c19ai_${name} STATIC ${M_SOURCES})
  target_include_directories(c19ai_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${C19AI_GENERATED_DIR})
  if(NOT name STREQUAL "common")
    target_link_libraries(c19ai_${name} PUBLIC c19ai_common)
  endif()
  target_link_libraries(c19ai_${name} PUBLIC ${deps_targets} ${M_PUBLIC_LIBS} PRIVATE ${M_PRIVATE_LIBS})
  set_property(GLOBAL APPEND PROPERTY C19AI_MODULES ${name})

  if(M_HTTP_SOURCES)
    # ARCHITECTURE.md: routes build into c19ai_<module>_http = c19ai_<module> + c19ai_http.
    add_library(c19ai_${name}_http STATIC ${M_HTTP_SOURCES})
    target_link_libraries(c19ai_${name}_http PUBLIC c19ai_${name} c19ai_http PRIVATE ${M_HTTP_PRIVATE_LIBS})
  endif()
endfunction()
