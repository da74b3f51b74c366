# Run by `cmake --install` (and cpack) after the plain install rules of
# cmake/packaging.cmake, with CMAKE_INSTALL_PREFIX and DESTDIR of that run:
# installs the config and the systemd unit, whose locations depend on them.
# file(INSTALL) prefixes DESTDIR itself.

# The GNU/FHS rule (GNUInstallDirs' CMAKE_INSTALL_FULL_SYSCONFDIR): the
# system's /etc for the /usr prefix, <prefix>/etc for any other.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(etc_dir "/etc/krayd")
else()
  set(etc_dir "${CMAKE_INSTALL_PREFIX}/etc/krayd")
endif()

# The example documents every key with its default, all commented out: as the
# installed config it runs a node with the defaults (and the unit's -datadir).
# An existing config is an operator's: never replaced by a reinstall. Mode
# 0644 (the example holds no secret); the Debian postinst makes it root:krayd
# 0640 on first install, as an rpctoken may be added.
if(EXISTS "$ENV{DESTDIR}${etc_dir}/krayd.conf")
  message(STATUS "Keeping existing: $ENV{DESTDIR}${etc_dir}/krayd.conf")
else()
  file(INSTALL "${KRAY_SOURCE_DIR}/config/krayd.conf.example" DESTINATION "${etc_dir}"
       RENAME krayd.conf PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()

# contrib/krayd.service names the Debian paths; point it at this prefix.
file(READ "${KRAY_SOURCE_DIR}/contrib/krayd.service" unit)
string(REPLACE "/usr/bin/krayd" "${CMAKE_INSTALL_PREFIX}/bin/krayd" unit "${unit}")
string(REPLACE "/etc/krayd/" "${etc_dir}/" unit "${unit}")
file(WRITE "${KRAY_BINARY_DIR}/install/krayd.service" "${unit}")
file(INSTALL "${KRAY_BINARY_DIR}/install/krayd.service" DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system"
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
