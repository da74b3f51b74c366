# Installation layout and the Debian package (docs/OPERATING.md, "Install and
# package"). With the Debian prefix /usr:
#   /usr/bin/krayd, /usr/bin/kray-cli
#   /usr/share/krayd/genesis.regtest.json   found by krayd's default genesis
#                                           lookup (kray/api/config.h)
#   /etc/krayd/krayd.conf                   the example config (a conffile)
#   /usr/lib/systemd/system/krayd.service   contrib/krayd.service
#   /usr/share/doc/krayd/                   example config, docs, copyright
# `cmake --install build --prefix <p>` puts the same files under <p>, the
# config in <p>/etc (GNU rule: /etc only for the /usr prefix).

install(TARGETS krayd kray-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES config/genesis.regtest.json DESTINATION ${CMAKE_INSTALL_DATADIR}/krayd)
install(FILES config/krayd.conf.example README.md docs/OPERATING.md docs/CLI.md docs/API.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright)
# /etc and the unit's paths depend on the prefix given at install time (cpack
# installs with /usr whatever the build was configured with), so they are
# decided by a script run then.
install(CODE "set(KRAY_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")\nset(KRAY_BINARY_DIR \"${PROJECT_BINARY_DIR}\")")
install(SCRIPT cmake/install_system_files.cmake)

# CPack: `cmake --build build --target package` (or cpack) -> krayd_<version>_<arch>.deb
set(KRAY_PACKAGE_MAINTAINER "krayd maintainers <maintainers@krayd.invalid>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME krayd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${KRAY_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "KRAY Bitcoin layer-2 node and its CLI")
set(CPACK_PACKAGE_DESCRIPTION
    "krayd keeps L2 accounts with multi-asset balances, commits BIP-340-signed transactions durably to SQLite, publishes Merkle state roots in numbered batches and serves a REST API; kray-cli is its command-line client.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Install into the staging tree through DESTDIR, so that the absolute /etc
# paths of install_system_files.cmake land in the package, not on this host.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Runtime libraries (libsqlite3-0, libsecp256k1-1, libmimalloc2.0, libssl3,
# libspdlog1.10, libfmt9, libstdc++6, ...) from dpkg-shlibdeps on the built
# binaries; passwd for useradd in postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/contrib/debian/conffiles
    ${PROJECT_SOURCE_DIR}/contrib/debian/postinst
    ${PROJECT_SOURCE_DIR}/contrib/debian/prerm
    ${PROJECT_SOURCE_DIR}/contrib/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
