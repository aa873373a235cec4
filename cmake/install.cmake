# `make install` (cmake --install): the binary, the example configs, the deployment files and an
# empty data directory. PREFIX is CMAKE_INSTALL_PREFIX (default /usr/local); DESTDIR is honoured.
# With PREFIX=/usr the config goes to /etc/kisgate and the data to /var/lib/kisgate
# (GNUInstallDirs); otherwise to PREFIX/etc/kisgate and PREFIX/var/lib/kisgate.
include(GNUInstallDirs)

set(KISGATE_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
set(KISGATE_CONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/kisgate)
set(KISGATE_DATADIR ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/kisgate)
set(KISGATE_SHAREDIR ${CMAKE_INSTALL_FULL_DATADIR}/kisgate)
set(KISGATE_SYSTEMD_UNITDIR "" CACHE PATH "Where make install puts the systemd units (empty: PREFIX/lib/systemd/system)")
set(KISGATE_UNITDIR ${KISGATE_SYSTEMD_UNITDIR})
if(NOT KISGATE_UNITDIR)
  set(KISGATE_UNITDIR ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()

if(TARGET kisgate)
  install(TARGETS kisgate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# Examples to copy from; the config the service reads is the admin's (never overwritten).
install(FILES configs/example.toml configs/multi-instance.toml configs/sim.toml
        DESTINATION ${KISGATE_SHAREDIR}/examples)
install(DIRECTORY DESTINATION ${KISGATE_CONFDIR})
install(DIRECTORY DESTINATION ${KISGATE_DATADIR})

install(FILES deploy/prometheus/kisgate-alerts.yml deploy/prometheus/prometheus.yml
        DESTINATION ${KISGATE_SHAREDIR}/prometheus)
install(FILES deploy/grafana/kisgate-dashboard.json DESTINATION ${KISGATE_SHAREDIR}/grafana)

# The systemd units and the user they run as, with this install's paths filled in.
foreach(unit kisgate.service kisgate@.service kisgate.sysusers kisgate.tmpfiles)
  configure_file(deploy/systemd/${unit}.in ${PROJECT_BINARY_DIR}/deploy/systemd/${unit} @ONLY)
endforeach()
install(FILES ${PROJECT_BINARY_DIR}/deploy/systemd/kisgate.service
              ${PROJECT_BINARY_DIR}/deploy/systemd/kisgate@.service
        DESTINATION ${KISGATE_UNITDIR})
install(FILES ${PROJECT_BINARY_DIR}/deploy/systemd/kisgate.sysusers
        DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d RENAME kisgate.conf)
install(FILES ${PROJECT_BINARY_DIR}/deploy/systemd/kisgate.tmpfiles
        DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d RENAME kisgate.conf)
