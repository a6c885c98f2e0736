# counter.capnp - the schema of the counter service (services/counter):
# its Counter interface. A service's own schema: the build generates
# services/counter/counter.capnp.{h,c} with capnpc-c, as it does for the
# ABI schema; it may import the ABI schema for shared types
# (`using Capos = import "/capos.capnp";`), and it changes with the
# service, not with the ABI.
@0xab17547b16dba823;

using Capos = import "/capos.capnp";

interface Counter @0xd8df74b7433cf83b {
  add @0 (n :Int64) -> (total :Int64);
  # Add n to the running total of the caller's counter (one per badge:
  # each client facet the server mints counts on its own) and answer the
  # new total. A total that would overflow Int64 is refused
  # (invalidArgument) and left as it was.
  reset @1 () -> (total :Int64) $Capos.destructive;
  # Set the caller's counter to 0; total is the value it had.
}

const counterInterfaceId :UInt64 = 0xd8df74b7433cf83b;
# For manifests (`interfaceId = Counter.counterInterfaceId`); must equal
# the interface's @id (counter.test beside this file checks).
