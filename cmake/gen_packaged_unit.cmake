# Writes the packaged copy (OUT) of a unit of examples/systemd (IN): rtctl is
# /usr/bin/rtctl, the node runs as the system user rt that the package's postinst
# creates (owner of /var/lib/rt) instead of a DynamicUser, and the documentation is
# the man page. Everything else, the sandboxing included, stays as in the example.
file(READ "${IN}" text)
string(REPLACE "/usr/local/bin/rtctl" "/usr/bin/rtctl" text "${text}")
string(REPLACE "DynamicUser=yes" "User=rt\nGroup=rt" text "${text}")
string(REGEX REPLACE "Documentation=[^\n]*" "Documentation=man:rtctl(1) file:///usr/share/doc/rt/README.md"
       text "${text}")
get_filename_component(name "${IN}" NAME)
file(WRITE "${OUT}" "# Installed by the rt package from examples/systemd/${name}; it is not enabled\n# or started by the package.\n${text}")
