# capos.capnp - the capOS interfaces and boot manifest of capos-sim.
#
# Every interface id below is the Cap'n Proto type id of the interface node
# and is what a CapSet entry, a CapTransferResult record and a manifest
# `interfaceId` carry. The SQE's `method_id` is the method ordinal (@N).
# Ids were generated with `capnp id` when the type was first written and are
# frozen: never change, reuse or renumber them, never renumber a method or
# field. Evolve by appending (a new method, field or union member gets the
# next ordinal; a new type gets a fresh `capnp id`). docs/schema.md has the
# rules and the manifest guide.
#
# Names and signatures follow upstream capOS (the public capOS book) where it
# states them; everything marked "capos-sim choice" is ours, chosen where
# upstream publishes no method list, and may differ from the upstream kernel.
#
# Conventions (capos-sim choices unless noted):
#  - Errors come in three layers (upstream): a negative CapCqe.result for
#    transport failures; a CapException payload (CAP_ERR_APPLICATION_EXCEPTION)
#    when a live target refuses the call (bad argument, unimplemented,
#    overloaded, gone); and result unions in this schema for domain outcomes
#    (not found, denied by policy, ...). A result union is an answer, not a
#    failure: callers must handle every member.
#  - A field or parameter of interface type (or of type Capability) is a Cap'n
#    Proto capability pointer. Its index names a sideband transfer record: in
#    params the CALL's CapTransferDescriptor with that index, in results the
#    CapTransferResult record with that index (docs/abi.md §9). A null
#    capability pointer means "no cap". Upstream's ProcessSpawner.spawn keeps
#    its explicit `handleIndex` instead.
#  - No interface `extends` another: a CALL carries a method ordinal but no
#    interface id, so every interface is flat. Where one interface is a
#    superset of another, it repeats the smaller one's methods at the same
#    ordinals.
#  - Bounded inputs: Text and Data parameters longer than a method's stated
#    bound are refused with a CapException of type invalidArgument.
#  - Times are nanoseconds of the simulator's monotonic clock (virtual or
#    real, docs/abi.md) unless a name says otherwise.

@0xf8e5c4da314ea23a;

# ===========================================================================
# Errors
# ===========================================================================

enum ExceptionType @0xd97fbedbc68708ec {
  # Why a live capability refused a call (upstream: Cap'n Proto's
  # Exception.Type ordinals, plus capOS's invalidArgument).
  failed @0;           # the target hit an error or a broken invariant
  overloaded @1;       # temporarily out of a resource; retrying may work
  disconnected @2;     # the object behind the cap is gone (closed, exited)
  unimplemented @3;    # the method ordinal is not implemented by the target
  invalidArgument @4;  # params rejected by the documented contract (capOS)
}

struct CapException @0xc3a97ee69986c507 {
  # Payload of a CQE whose result is CAP_ERR_APPLICATION_EXCEPTION[_TRUNCATED]
  # (upstream name; fields a capos-sim choice). The message is diagnostic
  # only and never carries secrets, pointers or other private state.
  type @0 :ExceptionType;  # the kind of refusal
  message @1 :Text;        # one line for people, at most 256 bytes
}

# ===========================================================================
# Method annotations (capos-sim choice): tools/capnpc-c puts them in the
# generated method tables (docs/codegen.md), and an agent runner tells the
# model whether a tool changes anything (docs/agent.md). Hints for people
# and models, never authority: the per-tool permission map decides.
# Service schemas use them as $Capos.readOnly / $Capos.destructive.
# ===========================================================================

annotation readOnly @0xa175a57dd84853e6 (method) :Void;
# The method changes no state a caller can observe (MCP readOnlyHint).

annotation destructive @0xd99658ac2cb5bb2e (method) :Void;
# The method may destroy state or authority: end a session, kill a
# process, close a connection, overwrite a record (MCP destructiveHint).
# A method that is neither changes state without destroying any.

# ===========================================================================
# Kernel objects: console, time, randomness, measurement
# ===========================================================================

interface Console @0xe55228ae8a0bf2b9 {
  # Write-only kernel log output (upstream). Hosted: the simulator's stdout.
  write @0 (data :Data) -> ();       # Write bytes as they are (upstream).
  writeLine @1 (text :Text) -> ();   # Write text and a line end (upstream).
}

interface Timer @0xca95d9489fce0ee8 {
  # Monotonic clock and sleeps (upstream name; methods a capos-sim choice).
  now @0 () -> (ns :UInt64) $readOnly;                 # Current monotonic time.
  sleep @1 (ns :UInt64) -> ();               # Complete after ns have passed.
  sleepUntil @2 (deadlineNs :UInt64) -> ();  # Complete at or after deadlineNs.
}

interface EntropySource @0xe08ff508832ebfee {
  # Random bytes from the simulator's seeded source (upstream name; method a
  # capos-sim choice). Hosted runs are reproducible from the run's seed, so
  # this is not a production-quality source.
  read @0 (count :UInt32) -> (data :Data) $readOnly;   # count random bytes, at most 256.
}

interface NullCap @0xc0f5e9a1d3b24f01 {
  # Measurement-only object (upstream name). Its id predates this schema and
  # is kept (docs/abi.md §7, kernel-model K_IFACE_NULLCAP).
  call @0 () -> ();                             # Do nothing; the CALL benchmark.
  echo @1 (data :Data) -> (data :Data);         # Return the params unchanged.
  mint @2 () -> (cap :NullCap);                 # Return a new NullCap result cap.
}

# ===========================================================================
# IPC endpoints and park
# ===========================================================================

interface Endpoint @0xd6f0a8b1c4e27a10 {
  # Raw endpoint (upstream, no methods): its owner serves calls with the
  # RECV and RETURN opcodes. Its id predates this schema and is kept
  # (docs/abi.md §7). capos-sim choice (docs/abi.md §10.1): a CALL on the
  # raw cap, which only the owner holds, runs these kernel methods instead
  # of queueing; a server uses them to hand out per-object client facets.
  mintClient @0 (badge :UInt64, interfaceId :UInt64)
             -> (facet :ClientEndpoint);
  # A client facet of this endpoint whose slot carries badge, typed as
  # interfaceId (the interface the server serves on it; capos-sim
  # addition, appended): CapSet entries and CapTransferResult records of it
  # and of every copy or move name that interface, and a CALL naming
  # another is refused (docs/abi.md §4.5, §8). 0 or ClientEndpoint's id:
  # untyped, presented as ClientEndpoint.
  identify @1 (cap :Capability) -> (own :Bool, badge :UInt64);
  # Whether cap (transferred with the call) is a client facet of this
  # endpoint, and its badge (0 when not own). Nothing about other caps.
}

interface ClientEndpoint @0xd6f0a8b1c4e27a11 {
  # Client facet of an Endpoint (upstream facet name, no methods): CALL only.
  # A facet typed with an interface id (ServiceExport.interfaceId, a
  # ProcessSpawner `cap` grant's interfaceId, Endpoint.mintClient's
  # interfaceId) carries it in its slot and is presented under that id
  # instead, through every copy and move. Id kept from docs/abi.md §7.
}

interface ParkSpace @0xbbb79d6f1e5756ad {
  # Authorises wait/wake on 32-bit words of the holder's own address space
  # (upstream). The compact form is the CAP_OP_PARK / CAP_OP_UNPARK ring
  # opcodes; these methods are the generic form of the same operations
  # (docs/abi.md §14.1; method names and ordinals a capos-sim choice).
  wait @0 (addr :UInt64, expected :UInt32, timeoutNs :UInt64)
       -> (outcome :UInt32);
  # Park the caller on the word at addr (4-byte aligned, in the heap or
  # stacks) while it holds expected; timeoutNs 0 waits without limit.
  # outcome: 0 woken, 1 the word differed, 2 timed out (CAP_PARK_*).
  wake @1 (addr :UInt64, count :UInt32) -> (woken :UInt32);
  # Wake up to count waiters of the word, oldest first.
}

# ===========================================================================
# Processes and threads
# ===========================================================================

interface ProcessSpawner @0xdb7406186ec8b776 {
  # Starts processes from boot binaries with explicit grants (upstream).
  spawn @0 (name :Text, binaryName :Text, grants :List(CapGrant),
            limits :ProcessLimits)
        -> (handleIndex :UInt16);
  # Start binaryName (a Binary.name of the boot manifest) as a process
  # called name (1 to 31 bytes of [A-Za-z0-9._-]) with exactly `grants` in
  # its CapSet, in order (upstream signature; `limits` appended by
  # capos-sim, absent = defaults). Grant sources: `kernel` only for console,
  # timer and nullCap (fresh objects that reach nothing else) and the
  # child's own threadSpawner, threadControl and parkSpace; `endpoint`, a
  # new endpoint the child owns; `cap`, a cap the caller passes with the
  # CALL (the capability pointer indexes the CALL's transfer descriptors),
  # which is how a parent hands on anything else it holds. A `cap` grant
  # with a badge must pass an unbadged ClientEndpoint facet: the child's
  # facet then carries that badge (a badged facet cannot be relabelled). A
  # ClientEndpoint facet passes any interfaceId check and is listed in the
  # child's CapSet under the grant's interfaceId. At most 63 grants, 7 of
  # them `endpoint`. Result caps: a move-only ProcessHandle at record
  # handleIndex (0), then, in grant order, one client facet (badge 0) for
  # each `endpoint` grant (upstream: parent-side facets of child-local
  # endpoints). Refusals (bad name, unknown binary, duplicate cap name,
  # a `service` or other kernel source, a tcpListenAuthority badge that is
  # not a forwarded guest port, bad cap index, impossible limits)
  # are invalidArgument CapExceptions; nothing is created then.
}

interface ProcessHandle @0x8a444ef4f6f963b3 {
  # The parent's handle on a spawned process (upstream); move-only: never
  # copied, so it has one holder, who may move it on (capos-sim choice).
  # Releasing it detaches the process, which runs on; an exited process is
  # freed once its handle is gone (capos-sim choice).
  wait @0 () -> (exitCode :Int64) $readOnly;
  # Complete when the process exits, at once if it has (upstream). One
  # wait at a time per handle (upstream: one waiter); a second is refused
  # with a `failed` CapException.
  kill @1 () -> () $destructive;
  # Terminate the process; wait then reports killedExitCode (capos-sim
  # choice: upstream has no kill yet). Killing an exited process is a no-op.
}

const killedExitCode :Int64 = -9;
# Exit code of a process or thread ended by ProcessHandle.kill (capos-sim).

interface ThreadSpawner @0xafe00da4c1192000 {
  # Creates threads in the holder's own process (upstream name; method a
  # capos-sim choice).
  spawn @0 (entry :UInt64, arg :UInt64, stackSize :UInt32, ring :UInt64,
            fsBase :UInt64)
        -> (thread :ThreadHandle);
  # Start a thread at entry(arg). Hosted, entry is the address of a
  # `void (*)(void *)` in the service's code; on bare metal a user virtual
  # address. The kernel carves the stack (stackSize bytes, 0 = default)
  # from the process arena. ring, when not 0, is the user address of a
  # page-aligned heap page that becomes the thread's own capability ring
  # (docs/abi.md §16); fsBase is the thread's initial FS base.
}

interface ThreadHandle @0x96b0e57ff3d75c05 {
  # Join handle of one thread (upstream name); releasing it detaches.
  join @0 () -> (exitCode :Int64);  # Complete when the thread exits.
}

interface ThreadControl @0x9452639f80b64f79 {
  # The calling thread's own FS base and exit (upstream: thread exit is a
  # ThreadControl operation, not a syscall; method names capos-sim choice).
  exit @0 (exitCode :Int64) -> () $destructive;       # End the calling thread; never completes.
  setFsBase @1 (base :UInt64) -> ();     # Set the calling thread's FS base.
  getFsBase @2 () -> (base :UInt64);     # Read the calling thread's FS base.
}

# ===========================================================================
# Boot package and system information
# ===========================================================================

interface BootPackage @0xa6f59cb772cd5bf2 {
  # Read-only access to the boot manifest bytes (upstream): the encoded
  # SystemManifest this system booted from.
  manifestSize @0 () -> (size :UInt64) $readOnly;                    # Size in bytes (upstream).
  readManifest @1 (offset :UInt64, maxBytes :UInt32) -> (data :Data) $readOnly;
  # Up to maxBytes (at most 65536) bytes from offset; empty at the end (upstream).
}

interface SystemInfo @0x92ff4f873d071f55 {
  # Read-only system facts for shells (upstream; was ShellConfig).
  motd @0 () -> (text :Text) $readOnly;  # The message of the day, kernelParams.motd (upstream).
}

# ===========================================================================
# Terminal
# ===========================================================================

interface TerminalSession @0xe9da047f2abd67a2 {
  # The shell's interactive terminal, a cap named `terminal` (upstream name;
  # methods a capos-sim choice, upstream publishes none). Implementations:
  # the host console (kernel source `terminal`), TcpSocket.intoTerminalSession,
  # and later SSH and web gateways. A closed peer makes calls fail with
  # disconnected.
  write @0 (data :Data) -> ();      # Output bytes as they are, at most 65536.
  writeLine @1 (text :Text) -> ();  # Output text and a line end ("\r\n" on the wire).
  readLine @2 (prompt :Text, echo :EchoMode, maxBytes :UInt32 = 1024)
           -> (result :ReadLineResult);
  # Show prompt, then collect one edited line (at most maxBytes, at most
  # 4096) with the given echo; complete when the user submits it.
  info @3 () -> (info :TerminalInfo) $readOnly;  # Transport and size of this terminal.
  close @4 () -> () $destructive;                   # End the session (network: disconnect).
  console @5 () -> (console :Console);
  # A kernel Console whose write and writeLine go to this terminal (line
  # end "\r\n"), copyable, e.g. a shell's child's "console" grant. It
  # writes only while this session is open: after close, or once the
  # session is gone or its peer disconnected, calls fail with disconnected.
}

enum EchoMode @0xef550c9eea61bb43 {
  # How readLine shows what the user types (capos-sim choice).
  visible @0;  # echo each character
  hidden @1;   # echo nothing (passwords: upstream's hidden `password>`)
}

struct ReadLineResult @0x98468ad5e5b12ab9 {
  # Outcome of TerminalSession.readLine.
  union {
    line @0 :Text;            # the submitted line, without its line end
    endOfInput @1 :Void;      # the user or peer closed the input (Ctrl-D, EOF)
    interrupted @2 :Void;     # the user interrupted (Ctrl-C); nothing submitted
  }
}

enum Transport @0x811ce6f037a63115 {
  # Where a terminal or login comes from (capos-sim choice); metadata only,
  # never authority.
  console @0;  # the local console (host terminal or pipe)
  telnet @1;   # the Telnet gateway (demo-only plaintext)
  ssh @2;      # the SSH gateway
  web @3;      # the web shell gateway
  test @4;     # a test harness
}

struct TerminalInfo @0xf8db0928fa2b9d3a {
  # Facts about one terminal (capos-sim choice).
  transport @0 :Transport;  # kind of transport behind the terminal
  columns @1 :UInt16;       # width in characters, 0 if unknown
  rows @2 :UInt16;          # height in lines, 0 if unknown
  peer @3 :Text;            # remote "address:port", empty for the console
}

interface TerminalSessionFromByteStream @0xaefa746f7936e334 {
  # Kernel source `terminalFromByteStream` (upstream name): TerminalSessions
  # with the one line discipline of the console and Telnet terminals over a
  # byte stream their creator carries (an SSH channel, later a WebSocket).
  create @0 (transport :Transport, columns :UInt16, rows :UInt16, peer :Text)
         -> (stream :TerminalByteStream);
  # A new terminal: transport, size and peer (at most 23 bytes) are what its
  # info() reports until the creator resizes it.
}

interface TerminalByteStream @0xe7c3477891c007d8 {
  # The creator's end of a TerminalSessionFromByteStream terminal (capos-sim
  # choice). Input is bounded (4096 bytes waiting for the line discipline)
  # and so is output (65536 bytes not yet drained: more ends the terminal,
  # as a Telnet peer that stops reading is disconnected).
  terminal @0 () -> (terminal :TerminalSession);
  # The TerminalSession itself (move-only), once; then failed.
  feed @1 (data :Data) -> (accepted :UInt32);
  # Client input: takes what fits, the caller keeps the rest for later
  # (backpressure: stop reading the client). Disconnected once ended.
  drain @2 (maxBytes :UInt32 = 16384) -> (data :Data, ended :Bool);
  # Terminal output (at most maxBytes, at most 16384), waiting while there is
  # none; ended: the terminal is closed or gone, nothing more will come.
  # One drain at a time.
  resize @3 (columns :UInt16, rows :UInt16) -> ();  # what info() reports
  hangUp @4 () -> ();
  # The client is gone: the terminal's input ends (a
  # waiting readLine gets endOfInput), its calls fail with disconnected;
  # output already queued still drains, then drain reports ended.
  endInput @5 () -> ();
  # The client's input ended (an SSH EOF) but it still reads: once fed
  # input is consumed, readLine gets endOfInput; output goes on.
}

# ===========================================================================
# Networking (TCP only: upstream Phase B)
# ===========================================================================

enum NetError @0xae43da401ec36a45 {
  # Domain outcome of a failed network operation (capos-sim choice).
  addressInUse @0;      # the port already has a listener
  permissionDenied @1;  # policy refuses the port
  connectionReset @2;   # the peer reset the connection
  closed @3;            # the socket or listener was closed
  timedOut @4;          # the operation ran out of time
  alreadyUsed @5;       # a one-shot TcpListenAuthority was already spent
}

struct NetworkConfig @0x943fa91dcb8bcf11 {
  # The guest's network configuration (capos-sim choice). Hosted, the guest
  # side is simulated; host ports are reached through kernelParams.portForwards.
  address @0 :Text;       # guest IPv4 address, dotted quad
  prefixLength @1 :UInt8; # netmask length
  gateway @2 :Text;       # default gateway, dotted quad
}

struct SocketAddress @0xfd6f240354426541 {
  # An IPv4 address and port (capos-sim choice).
  address @0 :Text;  # dotted quad
  port @1 :UInt16;   # TCP port
}

struct TcpListenResult @0xaac45c982ab4ea3b {
  # Outcome of creating a listener.
  union {
    listener @0 :TcpListener;  # the new listener
    error @1 :NetError;        # why there is none
  }
}

interface NetworkManager @0xe2cfcb01435d130d {
  # Broad network authority (upstream name; Phase B). Never granted to shells.
  getConfig @0 () -> (config :NetworkConfig) $readOnly;  # Guest network configuration (upstream name).
  listenTcp @1 (port :UInt16, backlog :UInt16 = 4) -> (result :TcpListenResult);
  # Listen on guest TCP port `port` with at most backlog pending connections.
}

interface TcpListenAuthority @0xafd3070025677139 {
  # One-shot scoped authority to listen on one guest port, fixed by the
  # manifest grant (upstream: kernel source tcpListenAuthority, port in the
  # grant's badge).
  listen @0 (backlog :UInt16 = 4) -> (result :TcpListenResult);
  # Create the listener; a second call answers alreadyUsed.
  port @1 () -> (port :UInt16) $readOnly;  # The guest port this authority is for.
}

struct TcpAcceptResult @0xd3911859c65efd1d {
  # Outcome of TcpListener.accept.
  union {
    accepted :group {
      socket @0 :TcpSocket;      # the connected socket
      peer @1 :SocketAddress;    # the remote end
    }
    error @2 :NetError;          # why nothing was accepted
  }
}

interface TcpListener @0x91a90867b3674558 {
  # A listening TCP port (upstream name).
  accept @0 () -> (result :TcpAcceptResult);  # Wait for the next connection (upstream; may block).
  close @1 () -> () $destructive;                          # Stop listening; pending accepts answer closed.
}

struct TcpSendResult @0x8655e1298c3faae6 {
  # Outcome of TcpSocket.send.
  union {
    sent @0 :UInt32;      # bytes accepted for sending
    error @1 :NetError;   # why nothing was sent
  }
}

struct TcpRecvResult @0xfabf14838b20134b {
  # Outcome of TcpSocket.recv.
  union {
    data @0 :Data;        # at least one byte received
    closed @1 :Void;      # the peer closed its side (end of stream)
    error @2 :NetError;   # the connection failed
  }
}

interface TcpSocket @0xa8115290ce50941e {
  # One TCP connection (upstream name; methods upstream, params capos-sim).
  send @0 (data :Data) -> (result :TcpSendResult);  # Send at most 65536 bytes (upstream).
  recv @1 (maxBytes :UInt32) -> (result :TcpRecvResult);
  # Wait for data, at most maxBytes (at most 65536) (upstream; may block).
  close @2 () -> () $destructive;                                # Close the connection (upstream).
  intoTerminalSession @3 () -> (terminal :TerminalSession);
  # Consume this connected socket and return a move-only TerminalSession on
  # it (upstream). Afterwards calls on the socket cap fail with disconnected.
}

# ===========================================================================
# Identity: credentials, accounts, sessions, broker, launch, audit
# ===========================================================================

enum PasswordVerdict @0xa12fe6d44c29b1b5 {
  # Outcome of CredentialStore.verifyPassword (capos-sim choice). Callers
  # show users one generic failure; the cause is for the audit log.
  verified @0;     # the password matches
  unknownUser @1;  # no credential for this username
  badPassword @2;  # the password does not match
  throttled @3;    # too many recent failures; try later
}

enum SetupOutcome @0xbeb0c666e48dc92d {
  # Outcome of CredentialStore.setup (capos-sim choice).
  created @0;            # the volatile account and credential exist now
  alreadyExists @1;      # the username already has an account
  invalidUsername @2;    # empty, too long, or not [a-z_][a-z0-9_-]*
  passwordTooShort @3;   # shorter than 8 bytes
  refusedByPolicy @4;    # setup is not allowed on this system now
}

interface CredentialStore @0xf0727aae4ce98456 {
  # Password verifier records (upstream name; methods capos-sim choice).
  # Records are Argon2id hashes (kernelParams.credentials, or volatile ones
  # made by setup); plaintext passwords are never stored or logged.
  verifyPassword @0 (username :Text, password :Data) -> (verdict :PasswordVerdict);
  # Check password (raw bytes, at most 1024) against username's record.
  setup @1 (username :Text, password :Data) -> (outcome :SetupOutcome) $destructive;
  # Create a volatile (RAM-only) operator account and its credential (upstream `setup`).
  hasCredentials @2 () -> (any :Bool) $readOnly;  # Whether any credential record exists.
}

enum AccountStatus @0xbf391533ca0714a9 {
  # Account states (upstream); only active accounts get sessions.
  active @0;
  disabled @1;
  locked @2;
  recoveryOnly @3;
}

struct Account @0x90ec2bab79109243 {
  # One local account record (upstream concept; fields capos-sim choice).
  principalId @0 :Data;        # canonical 32-byte principal id (upstream)
  username @1 :Text;           # login name, unique
  displayName @2 :Text;        # for people; never authority
  status @3 :AccountStatus;    # only active may log in
  profiles @4 :List(Text);     # session profiles this account may use
  defaultProfile @5 :Text;     # profile of a password login
}

struct AccountLookup @0xaed79a6f8e287d88 {
  # Outcome of an account lookup.
  union {
    found @0 :Account;    # the record
    notFound @1 :Void;    # no such account
  }
}

interface AccountStoreReader @0x894bee75eda505e8 {
  # Read access to account records (upstream name, from the SDK's
  # AccountStoreReaderClient; methods capos-sim choice).
  lookupByPrincipal @0 (principalId :Data) -> (result :AccountLookup) $readOnly;  # (upstream lookup_by_principal)
  lookupByUsername @1 (username :Text) -> (result :AccountLookup) $readOnly;      # Find by login name.
}

struct AccountUpdate @0xfca7be51a8eecaf5 {
  # Outcome of an account change.
  union {
    updated @0 :Account;  # the record after the change
    notFound @1 :Void;    # no such account
  }
}

interface AccountStoreManager @0xf9596b0bd4d6aa82 {
  # Read and change account records (upstream name, SDK's
  # AccountStoreManagerClient). Repeats AccountStoreReader's methods at the
  # same ordinals.
  lookupByPrincipal @0 (principalId :Data) -> (result :AccountLookup) $readOnly;  # As AccountStoreReader.
  lookupByUsername @1 (username :Text) -> (result :AccountLookup) $readOnly;      # As AccountStoreReader.
  setStatus @2 (principalId :Data, status :AccountStatus) -> (result :AccountUpdate) $destructive;
  # Change an account's status (upstream: disable, lock, recovery-only proofs).
}

struct AuthorizedKey @0xefbf455cbe79e181 {
  # An SSH public key allowed to log in as a principal (upstream concept).
  principalId @0 :Data;       # the account it logs in as
  algorithm @1 :Text;         # "ssh-ed25519"
  publicKey @2 :Data;         # raw public key (ed25519: 32 bytes)
  profiles @3 :List(Text);    # profiles a login with this key may use
  comment @4 :Text;           # for people
  disabled @5 :Bool;          # a disabled key is denied (ssh-key-disabled)
}

struct AuthorizedKeyLookup @0xaf0983c5b34410a8 {
  # Outcome of AuthorizedKeyStore.lookup.
  union {
    found @0 :AuthorizedKey;  # the record
    notFound @1 :Void;        # unknown key
  }
}

interface AuthorizedKeyStore @0xb50e6190b43f674a {
  # Authorized SSH keys, seeded from kernelParams.authorizedKeys (upstream
  # name; method capos-sim choice).
  lookup @0 (algorithm :Text, publicKey :Data) -> (result :AuthorizedKeyLookup) $readOnly;  # Find one key.
}

struct LoginSource @0xe5d8023ff5e03570 {
  # Where a login comes from (upstream: gateways derive it from the accepted
  # socket plus a connection event id). Metadata for audit, never authority.
  transport @0 :Transport;    # console, telnet, ssh, ...
  peer @1 :Text;              # remote "address:port", empty for the console
  connectionId @2 :UInt64;    # gateway-generated connection event id
}

enum AuthStrength @0xe58ef46601804fc4 {
  # How a session's principal was authenticated (upstream mentions publicKey).
  none @0;           # anonymous or guest
  password @1;
  publicKey @2;      # SSH public key (upstream)
  passkey @3;        # WebAuthn (later)
  tlsClientCert @4;  # mTLS (later)
}

enum ProfileKind @0xd7ce453086cdeaa1 {
  # Kinds of session profiles (upstream: anonymous, operator, guest).
  anonymous @0;
  operator @1;
  guest @2;
  service @3;   # non-interactive service principal (capos-sim)
}

struct SessionInfo @0xba4b3626a025c811 {
  # Metadata of one session (upstream name; fields capos-sim choice).
  sessionId @0 :Data;           # 16 entropy-backed bytes
  principalId @1 :Data;         # 32 bytes; empty for anonymous sessions
  username @2 :Text;            # empty for anonymous sessions
  displayName @3 :Text;
  profile @4 :Text;             # profile name, e.g. "operator"
  profileKind @5 :ProfileKind;
  authStrength @6 :AuthStrength;
  source @7 :LoginSource;
  createdNs @8 :UInt64;
  expiresNs @9 :UInt64;         # 0: no wall-clock expiry (upstream default)
}

interface UserSession @0x8edfe15f8cc200b2 {
  # One live session (upstream name; methods capos-sim choice). Holding it
  # is what the broker asks for; copies share the session.
  info @0 () -> (info :SessionInfo) $readOnly;  # The session's metadata.
  logout @1 () -> () $destructive;                 # End the session; every copy becomes invalid.
}

struct LoginResult @0xe5d24ea05c68cdff {
  # Outcome of a login. Denials are generic on purpose: the cause goes to
  # the audit log only (upstream: unknown keys denied generically).
  union {
    session @0 :UserSession;  # the new session
    denied :group {
      retryAfterMs @1 :UInt32;  # 0, or how long the caller should wait
    }
  }
}

struct SessionValidation @0xf276fc5a3156d7dc {
  # Outcome of SessionManager.validate.
  union {
    valid @0 :SessionInfo;  # genuine and live
    invalid @1 :Void;       # not minted here, or logged out
    expired @2 :Void;       # past expiresNs
  }
}

interface SessionManager @0xe2a014d8a8ab930d {
  # Authenticates and mints UserSessions (upstream name). Writes an audit
  # record for every decision.
  login @0 (username :Text, password :Data, source :LoginSource) -> (result :LoginResult);
  # Password login for the account's default profile (capos-sim name).
  sshPublicKey @1 (username :Text, profile :Text, algorithm :Text, publicKey :Data,
                   signedData :Data, signature :Data, source :LoginSource)
               -> (result :LoginResult);
  # SSH public-key login (upstream name): key record, signature over
  # signedData, then account status, all before a session is minted.
  anonymous @2 (source :LoginSource) -> (session :UserSession);
  # A fresh anonymous session (upstream: the shell starts anonymous).
  guest @3 (source :LoginSource) -> (result :LoginResult);
  # A guest session, if the manifest has a guest profile (upstream `guest`).
  validate @4 (session :UserSession) -> (result :SessionValidation);
  # Check that session was minted here and is live; used by the broker.
}

struct NamedCap @0xf91ed42c49ec2b01 {
  # A cap with the name its receiver should know it by (capos-sim choice).
  name @0 :Text;         # CapSet-style name, at most 47 bytes
  cap @1 :Capability;    # the cap
}

enum PermissionMode @0xec36408a476d0c92 {
  # Gate on one agent tool (upstream modes).
  auto @0;       # run without asking
  consent @1;    # ask the user first
  stepUp @2;     # re-authenticate first
  forbidden @3;  # never run; not shown to the model
}

struct ToolPermission @0xc40aa67ce5479a72 {
  # One entry of a per-tool permission map (upstream concept).
  tool @0 :Text;             # ToolDescriptor.name
  mode @1 :PermissionMode;
}

struct ShellBundle @0xc42239369f99cb82 {
  # What AuthorityBroker.shellBundle hands a shell (upstream contents).
  session @0 :UserSession;               # a copy of the session (upstream)
  launcher @1 :ProcessSpawner;
  # Broker-issued launcher (upstream): a scoped spawner that starts only the
  # profile's binaries and gives children the session (capos-sim: typed as
  # ProcessSpawner; upstream does not name its interface).
  systemInfo @2 :SystemInfo;             # (upstream)
  serviceEndpoints @3 :List(NamedCap);   # profile-scoped caps (upstream name)
  languageModel @4 :LanguageModel;       # null unless the profile has one
  toolPermissions @5 :List(ToolPermission);  # per-tool map for agent mode
  expiresNs @6 :UInt64;                  # bundle caps expire with the session; 0 never
  programs @7 :List(ProgramCaps);        # the profile's default grants per program
}

enum BundleDenial @0xcd431e8bf65d4a14 {
  # Why the broker issued no bundle (capos-sim choice).
  sessionInvalid @0;         # not a live session of the SessionManager
  sessionExpired @1;
  profileUnknown @2;         # no such profile in the manifest
  profileNotAllowed @3;      # the session's profile differs (upstream: mismatch)
  profileNotInteractive @4;  # the profile cannot run a shell
}

struct ShellBundleResult @0xb381935a5663990b {
  # Outcome of AuthorityBroker.shellBundle.
  union {
    bundle @0 :ShellBundle;
    denied @1 :BundleDenial;
  }
}

interface AuthorityBroker @0xebccae208d13ebdf {
  # Decides what a session may hold (upstream name). Profiles come from
  # kernelParams.profiles.
  shellBundle @0 (session :UserSession, profile :Text) -> (result :ShellBundleResult);
  # The shell bundle of profile for session (upstream name).
}

enum LaunchDenial @0x8ca270840ba16a8a {
  # Why RestrictedShellLauncher launched nothing (capos-sim choice).
  sessionInvalid @0;    # not a live session
  profileMismatch @1;   # profile is not the session's (upstream)
  grantRefused @2;      # an extra grant is not allowed (upstream: dangerous grants fail closed)
  spawnFailed @3;       # the process could not be started
}

struct LaunchResult @0xae97db851f0263bd {
  # Outcome of RestrictedShellLauncher.launchShell.
  union {
    launched @0 :ProcessHandle;  # the running capos-shell
    denied @1 :LaunchDenial;
  }
}

interface RestrictedShellLauncher @0x986b749e926b2b4e {
  # Launches capos-shell and nothing else (upstream): no binary selector, no
  # raw network, spawner, key or launcher authority reaches the shell.
  launchShell @0 (session :UserSession, profile :Text, terminal :TerminalSession,
                  grants :List(NamedCap)) -> (result :LaunchResult);
  # Start capos-shell on terminal for session (upstream name); grants are
  # extra caps, each checked against the launcher's allow-list.
}

enum AuditOutcome @0x901c101d2e3202c4 {
  # What an audit record reports (capos-sim choice).
  info @0;      # an event, no decision
  allowed @1;   # a decision that granted something
  denied @2;    # a decision that refused something
  error @3;     # the decision could not be made
}

struct AuditRecord @0x8018badade0b8286 {
  # One audit event (upstream name; fields capos-sim choice). Printed as
  # `<category>=<code>` (upstream: `auth=ssh-key-unknown`).
  sequence @0 :UInt64;     # set by the log: 1, 2, 3, ...
  timeNs @1 :UInt64;       # set by the log
  source @2 :Text;         # set by the log from the caller's facet (badge), not trusted from params
  category @3 :Text;       # "auth", "session", "launch", "ssh", "agent", ...
  code @4 :Text;           # stable reason code, e.g. "ssh-key-unknown"
  outcome @5 :AuditOutcome;
  principal @6 :Text;      # blank on denials (upstream: principal blanked)
  sessionId @7 :Data;      # the session concerned, if any
  detail @8 :Text;         # redacted, at most 256 bytes; never secrets
}

interface AuditLog @0xe2e75995f1a20b0e {
  # Append-only audit log (upstream name; methods capos-sim choice).
  append @0 (record :AuditRecord) -> (sequence :UInt64);
  # Append record (the log sets sequence, timeNs, source); returns its sequence.
}

interface AuditLogReader @0x8e9c41a4e72ebba6 {
  # Read access to the audit log (capos-sim choice), separate from append.
  read @0 (fromSequence :UInt64, maxRecords :UInt32)
       -> (records :List(AuditRecord), nextSequence :UInt64) $readOnly;
  # Records with sequence >= fromSequence, at most maxRecords (at most 64).
}

interface EchoIdentity @0x817dced6813bedff {
  # The demo service of endpoint identity (services/echo-identity; a
  # capos-sim choice, no upstream counterpart): its export is typed with
  # this interface, so its facet keeps the type through the broker's bundle
  # and the shell's `spawn ... with`, and a client expecting another
  # interface is refused instead of answered.
  hello @0 () -> ();
  # Answered empty; the server reports the caller's badge on its console.
}

# ===========================================================================
# SSH
# ===========================================================================

struct SignResult @0xe252f49904dd833e {
  # Outcome of SshHostKey.signExchangeHash.
  union {
    signature @0 :Data;            # ssh-ed25519: the 64-byte signature
    unsupportedAlgorithm @1 :Void; # the key cannot sign for this algorithm
    invalidHash @2 :Void;          # empty or longer than 64 bytes
  }
}

interface SshHostKey @0xfa1ed47873057243 {
  # Sign-only SSH host key (upstream); private bytes never leave it, except
  # through developmentSeed (capos-sim's development compromise, docs/ssh.md).
  signExchangeHash @0 (algorithm :Text, exchangeHash :Data) -> (result :SignResult);
  # Sign one SSH exchange hash (upstream name).
  publicKey @1 () -> (algorithm :Text, publicKey :Data) $readOnly;  # The public half.
  developmentSeed @2 () -> (seed :Data);
  # The development key's 32-byte private seed, once per cap (capos-sim):
  # libssh 0.10 signs the key exchange in-process and has no external
  # signer. A second call fails. Only the ssh-gateway may hold this cap.
}

# ===========================================================================
# Agent: language model and tools
# ===========================================================================

struct ModelInfo @0xf09949d80cbc03e5 {
  # Facts about a model (upstream name; fields capos-sim choice).
  name @0 :Text;
  provider @1 :Text;          # "capos-test" for the deterministic test model
  description @2 :Text;
  contextTokens @3 :UInt32;
  deterministic @4 :Bool;     # same input, same output (the test model)
}

enum ToolValueType @0x9c249b3748bb3aeb {
  # Types a tool parameter can have (capos-sim choice).
  text @0;
  integer @1;
  boolean @2;
  data @3;
}

struct ToolParameter @0xe85bdbdac06b108f {
  # One parameter of a tool (capos-sim choice).
  name @0 :Text;
  description @1 :Text;
  type @2 :ToolValueType;
  required @3 :Bool;
}

struct ToolDescriptor @0xc0b492afd035e939 {
  # A typed tool offered to the model (upstream name): one method of one cap
  # the runner holds. Forbidden tools are never described to the model.
  name @0 :Text;                      # unique in one turn
  description @1 :Text;
  capName @2 :Text;                   # the runner's cap it invokes
  interfaceId @3 :UInt64;
  methodId @4 :UInt16;
  parameters @5 :List(ToolParameter);
  mode @6 :PermissionMode;            # the gate the runner applies
  readOnly @7 :Bool;                  # does not change state
}

struct ToolArgument @0xc5d17d99c8ec5eef {
  # One argument of a tool call (capos-sim choice): structured, never parsed
  # from model text.
  name @0 :Text;
  value :union {
    text @1 :Text;
    integer @2 :Int64;
    boolean @3 :Bool;
    data @4 :Data;
  }
}

struct ToolCall @0xa5a3d78bd094929a {
  # A model's request to run one tool (upstream name).
  id @0 :Text;                          # unique in the turn
  tool @1 :Text;                        # ToolDescriptor.name
  arguments @2 :List(ToolArgument);
}

struct ToolResult @0xbf381c657f658251 {
  # What happened to one tool call (upstream name): denied or cancelled
  # calls are ordinary outcomes (upstream).
  callId @0 :Text;                      # ToolCall.id
  outcome :union {
    output @1 :Text;                    # the tool ran; its (redacted) output
    failed @2 :Text;                    # the tool ran and failed; why
    denied @3 :Text;                    # the gate refused; why
    cancelled @4 :Void;                 # the user cancelled
    timedOut @5 :Void;                  # the call ran out of time
  }
}

enum MessageRole @0x8667484b92d8f2e8 {
  # Author of a conversation message (capos-sim choice).
  system @0;
  user @1;
  assistant @2;
  tool @3;
}

struct ModelMessage @0xf11f6b6b48c92be1 {
  # One message of the conversation sent to the model (capos-sim choice).
  role @0 :MessageRole;
  text @1 :Text;
  toolCalls @2 :List(ToolCall);        # role assistant: the calls it made
  toolResults @3 :List(ToolResult);    # role tool: their outcomes
}

enum StopReason @0xd60887b33a05d155 {
  # Why a model turn ended (capos-sim choice).
  endTurn @0;     # the model finished
  toolCalls @1;   # the model waits for tool results
  maxTokens @2;   # the output bound was reached
  cancelled @3;   # ModelTurn.cancel was called
  failed @4;      # the model failed
}

struct TurnEvent @0x83072196d30c8935 {
  # One streamed piece of a model turn (capos-sim choice).
  union {
    text @0 :Text;           # a chunk of assistant text
    toolCall @1 :ToolCall;   # a complete tool call
    done @2 :StopReason;     # the turn is over; next calls answer done again
  }
}

interface ModelTurn @0xa91067ae9297663b {
  # One streaming model turn (capos-sim choice): bounded pull streaming.
  next @0 () -> (event :TurnEvent);  # Wait for the next event of the turn.
  cancel @1 () -> ();                # Stop the turn; next answers done(cancelled).
}

interface LanguageModel @0xe9cf6ad440a32abe {
  # A model as a capability (upstream name). It never receives session,
  # terminal or launcher caps: only messages and tool descriptors.
  info @0 () -> (info :ModelInfo) $readOnly;  # Describe the model.
  startTurn @1 (messages :List(ModelMessage), tools :List(ToolDescriptor),
                maxOutputTokens :UInt32) -> (turn :ModelTurn);
  # Start one assistant turn over messages with tools available.
}

# ===========================================================================
# Boot manifest (upstream SystemManifest, read through BootPackage)
# ===========================================================================

const currentSchemaVersion :UInt32 = 1;
# SystemManifest.schemaVersion this schema describes (capos-sim numbering).

struct SystemManifest @0x90b9843b67b0dae3 {
  # The root of a boot manifest (upstream: the kernel decoder reads exactly
  # these four fields). Fixtures write it as `const manifest :SystemManifest`.
  schemaVersion @0 :UInt32;       # must equal currentSchemaVersion
  binaries @1 :List(Binary);      # every binary a service may name
  initConfig @2 :InitConfig;      # what the kernel starts and init spawns
  kernelParams @3 :KernelParams;  # system configuration and boot seeds
}

struct Binary @0xb038c81c80031611 {
  # A boot binary (upstream: embedded ELF images).
  name @0 :Text;                  # what ServiceConfig.binary and spawn name
  image :union {
    builtin @1 :Text;
    # capos-sim: the name of a service entry function linked into the
    # simulator (services/<name>/).
    elf @2 :Data;
    # An ELF image, as upstream; reserved for the bare-metal port (capos-sim
    # refuses it).
  }
}

struct InitConfig @0x8facdd780b559aff {
  # The init-owned service graph (upstream initConfig).
  init @0 :ServiceConfig;
  # The one process the kernel starts (upstream initConfig.init). Its caps
  # may use `kernel` and `endpoint` sources only.
  services @1 :List(ServiceConfig);
  # What init spawns, in this order. A `service` import may name only init
  # or a service listed earlier (no cycles).
}

enum RestartPolicy @0xcfaf1a78add67261 {
  # What init does when a service exits (upstream: restart-policy metadata;
  # values capos-sim choice).
  never @0;      # leave it exited
  onFailure @1;  # spawn it again after a non-zero exit
  always @2;     # spawn it again after any exit
}

struct ProcessLimits @0xd6c93e8f83a29a54 {
  # Resource bounds of one process (capos-sim choice); 0 means the default.
  arenaBytes @0 :UInt32;  # user arena size (default 4 MiB)
  maxThreads @1 :UInt16;  # threads (default 8, at most 32)
  capSlots @2 :UInt16;    # cap table slots (default 256, at most 4096)
}

struct ServiceConfig @0xaa6707d6353734bd {
  # One process of the boot graph (upstream concept).
  name @0 :Text;                      # process name, unique; import prefix
  binary @1 :Text;                    # a Binary.name
  caps @2 :List(CapGrant);            # its CapSet, in this order
  exports @3 :List(ServiceExport);    # caps others may import as "name.export"
  restart @4 :RestartPolicy;
  shutdownOnExit @5 :Bool;
  # When it exits for good, init stops the other services and exits, and
  # the system halts (upstream: halt when init and all processes are gone).
  limits @6 :ProcessLimits;
}

struct ServiceExport @0xab13f2c64978cfa2 {
  # A cap a service offers to later services (upstream: exported service caps).
  name @0 :Text;          # importers write "<service>.<name>"
  cap @1 :Text;           # the service's own cap: an `endpoint` grant
  interfaceId @2 :UInt64;
  # The interface the service serves on it; importers' facets are presented
  # with this id (upstream: typed service export). 0: untyped ClientEndpoint.
}

enum KernelCapSource @0xbad6e498d6ac617d {
  # Objects the kernel creates for a grant (upstream KernelCapSource; names
  # follow upstream's where it has them: network_manager, tcp_listen_authority,
  # ssh_development_host_key).
  console @0;               # Console: kernel log output
  terminal @1;              # TerminalSession on the host console (capos-sim)
  timer @2;                 # Timer
  entropy @3;               # EntropySource
  processSpawner @4;        # ProcessSpawner (broad: init and trusted services)
  bootPackage @5;           # BootPackage: the whole manifest, read-only
  systemInfo @6;            # SystemInfo from kernelParams
  nullCap @7;               # NullCap (measurement only)
  threadSpawner @8;         # ThreadSpawner of the grantee's own process
  threadControl @9;         # ThreadControl of the grantee's own process
  parkSpace @10;            # ParkSpace of the grantee's own process
  networkManager @11;       # NetworkManager (upstream network_manager)
  tcpListenAuthority @12;
  # One-shot TcpListenAuthority; the grant's badge is the guest port
  # (upstream tcp_listen_authority).
  sshDevelopmentHostKey @13;
  # SshHostKey from kernelParams.sshDevelopmentHostKey, development only
  # (upstream ssh_development_host_key).
  terminalFromByteStream @14;
  # TerminalSessionFromByteStream: terminals over byte streams the grantee
  # feeds (upstream TerminalSessionFromByteStream; an SSH gateway's
  # SshTerminalFactory).
}

struct CapGrant @0xf7fd97641d5730dd {
  # One cap given to a process under a name (upstream name; fields capos-sim
  # choice). Used by manifests and by ProcessSpawner.spawn.
  name @0 :Text;  # the CapSet name, at most 47 bytes, unique per process
  source :union {
    kernel @1 :KernelCapSource;  # a new kernel object
    service @2 :Text;
    # "<service>.<export>": a client facet of another service's export
    # (manifests only; init resolves it before spawning).
    endpoint @3 :Void;
    # A new endpoint owned by the grantee (RECV/RETURN); spawn returns a
    # client facet of it to the parent.
    cap @4 :Capability;
    # A cap the caller of ProcessSpawner.spawn passes with the CALL (spawn
    # only; a manifest cannot hold caps).
  }
  badge @5 :UInt64;
  # For `service`: the badge the server sees on calls through this facet
  # (0: none); for kernel tcpListenAuthority: the guest port (upstream).
  # Ignored elsewhere. Delegated facets cannot be relabelled (upstream).
  interfaceId @6 :UInt64;
  # The interface the grantee expects; init and spawn refuse a cap with a
  # different id (upstream: cap source and interface id checks). 0: no check.
}

struct KernelParams @0xbbc46ae75475ee8e {
  # System configuration and boot seeds (upstream kernelParams). Boot
  # services read their sections through a BootPackage grant.
  motd @0 :Text;                            # SystemInfo.motd (upstream kernelParams.motd)
  portForwards @1 :List(PortForward);       # hosted host-to-guest TCP forwards
  accounts @2 :List(Account);               # seed accounts (upstream: seed account)
  credentials @3 :List(CredentialRecord);   # seed password verifiers
  authorizedKeys @4 :List(AuthorizedKey);   # seed SSH user keys
  profiles @5 :List(SessionProfile);        # session profiles for the broker
  sshDevelopmentHostKey @6 :SshDevelopmentHostKey;  # (upstream name)
}

struct PortForward @0xad4fe7baebc14f3b {
  # One host-to-guest TCP forward (capos-sim; as QEMU's user-mode hostfwd,
  # e.g. tcp:127.0.0.1:2323-:23).
  hostAddress @0 :Text = "127.0.0.1";  # loopback only, by policy
  hostPort @1 :UInt16;
  guestPort @2 :UInt16;
  idleTimeoutSeconds @3 :UInt32 = 600;
  # A connection through this forward with no input for this long is
  # closed (capos-sim; 0: never).
  allowNonLoopback @4 :Bool = false;
  # A hostAddress outside 127.0.0.0/8 exposes a plaintext gateway to the
  # network: boot refuses it unless this is true, and warns when it is.
}

struct CredentialRecord @0xb37282b27e59b304 {
  # A seed password verifier (capos-sim choice). Never plaintext.
  username @0 :Text;      # Account.username
  passwordHash @1 :Text;
  # Argon2id in PHC string form ("$argon2id$v=19$m=...,t=...,p=...$salt$hash");
  # anything else is refused at boot.
}

struct ProfileCap @0xec272ced469f63c6 {
  # One cap of a profile's bundle (capos-sim choice).
  name @0 :Text;  # the name in the bundle's serviceEndpoints
  from @1 :Text;  # the broker's own cap (CapSet name) it copies
}

struct SessionProfile @0xaa207d5ffeaa513c {
  # A session profile: which bundle the broker may mint (upstream concept).
  name @0 :Text;                       # "anonymous", "operator", "guest", ...
  kind @1 :ProfileKind;
  interactive @2 :Bool;                # may run a shell
  lifetimeSeconds @3 :UInt64;          # 0: no expiry (upstream default for operator)
  caps @4 :List(ProfileCap);           # serviceEndpoints of the bundle
  binaries @5 :List(Text);             # what the bundle's launcher may start
  languageModel @6 :Text;              # the broker's LanguageModel cap, "" for none
  tools @7 :List(ToolPermission);      # per-tool permission map
  programs @8 :List(ProgramCaps);
  # The bundle caps each of `binaries` gets by default: `spawn NAME` with
  # no `with` passes them; `with { ... }` names its grants instead.
}

struct ProgramCaps @0xbc265634fba831d7 {
  # The caps of a session bundle one program receives by default
  # (capos-sim choice; SessionProfile.programs, ShellBundle.programs).
  binary @0 :Text;         # one of the profile's binaries
  caps @1 :List(Text);     # names of the bundle's serviceEndpoints, at most 8
}

struct SshDevelopmentHostKey @0x9262194c20d96f4d {
  # Development-only SSH host key (upstream kernelParams.sshDevelopmentHostKey):
  # never use it outside a development loopback.
  algorithm @0 :Text = "ssh-ed25519";
  seed @1 :Data;        # the 32-byte ed25519 private seed
  publicKey @2 :Data;   # the 32-byte public key, checked against the seed
}

# ===========================================================================
# Interface ids as constants, for manifests (`interfaceId = Capos.fooInterfaceId`).
# Each must equal its interface's @id: tests/integration/manifests.test checks.
# ===========================================================================

const consoleInterfaceId                   :UInt64 = 0xe55228ae8a0bf2b9;
const timerInterfaceId                     :UInt64 = 0xca95d9489fce0ee8;
const entropySourceInterfaceId             :UInt64 = 0xe08ff508832ebfee;
const nullCapInterfaceId                   :UInt64 = 0xc0f5e9a1d3b24f01;
const endpointInterfaceId                  :UInt64 = 0xd6f0a8b1c4e27a10;
const clientEndpointInterfaceId            :UInt64 = 0xd6f0a8b1c4e27a11;
const parkSpaceInterfaceId                 :UInt64 = 0xbbb79d6f1e5756ad;
const processSpawnerInterfaceId            :UInt64 = 0xdb7406186ec8b776;
const processHandleInterfaceId             :UInt64 = 0x8a444ef4f6f963b3;
const threadSpawnerInterfaceId             :UInt64 = 0xafe00da4c1192000;
const threadHandleInterfaceId              :UInt64 = 0x96b0e57ff3d75c05;
const threadControlInterfaceId             :UInt64 = 0x9452639f80b64f79;
const bootPackageInterfaceId               :UInt64 = 0xa6f59cb772cd5bf2;
const systemInfoInterfaceId                :UInt64 = 0x92ff4f873d071f55;
const terminalSessionInterfaceId           :UInt64 = 0xe9da047f2abd67a2;
const networkManagerInterfaceId            :UInt64 = 0xe2cfcb01435d130d;
const tcpListenAuthorityInterfaceId        :UInt64 = 0xafd3070025677139;
const tcpListenerInterfaceId               :UInt64 = 0x91a90867b3674558;
const tcpSocketInterfaceId                 :UInt64 = 0xa8115290ce50941e;
const credentialStoreInterfaceId           :UInt64 = 0xf0727aae4ce98456;
const accountStoreReaderInterfaceId        :UInt64 = 0x894bee75eda505e8;
const accountStoreManagerInterfaceId       :UInt64 = 0xf9596b0bd4d6aa82;
const authorizedKeyStoreInterfaceId        :UInt64 = 0xb50e6190b43f674a;
const userSessionInterfaceId               :UInt64 = 0x8edfe15f8cc200b2;
const sessionManagerInterfaceId            :UInt64 = 0xe2a014d8a8ab930d;
const authorityBrokerInterfaceId           :UInt64 = 0xebccae208d13ebdf;
const restrictedShellLauncherInterfaceId   :UInt64 = 0x986b749e926b2b4e;
const auditLogInterfaceId                  :UInt64 = 0xe2e75995f1a20b0e;
const auditLogReaderInterfaceId            :UInt64 = 0x8e9c41a4e72ebba6;
const echoIdentityInterfaceId              :UInt64 = 0x817dced6813bedff;
const sshHostKeyInterfaceId                :UInt64 = 0xfa1ed47873057243;
const terminalSessionFromByteStreamInterfaceId :UInt64 = 0xaefa746f7936e334;
const terminalByteStreamInterfaceId       :UInt64 = 0xe7c3477891c007d8;
const modelTurnInterfaceId                 :UInt64 = 0xa91067ae9297663b;
const languageModelInterfaceId             :UInt64 = 0xe9cf6ad440a32abe;

