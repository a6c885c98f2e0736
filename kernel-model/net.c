/*
 * net.c - the network's configuration and policy: guest-port forwards
 * from kernelParams.portForwards (and the host's overrides), the checks of
 * tcpListenAuthority grants, listening on a forwarded port, the port's
 * k_net_ready entry, and result builders the network objects share.
 * The objects: netmgr.c (NetworkManager), tcpauth.c (TcpListenAuthority),
 * tcplistener.c (TcpListener), tcpsocket.c (TcpSocket and connections),
 * sockterm.c (the TerminalSession device of a socket). docs/net.md.
 *
 * Guest ports reach the host only through a forward (as QEMU's user-mode
 * hostfwd): a listen on guest port G binds the forward's
 * hostAddress:hostPort (loopback unless the manifest says otherwise). A
 * guest port without a forward is refused with permissionDenied; a host
 * port already taken answers addressInUse and prints a console line.
 *
 * Pending operations (accept, recv, a send waiting for room) are
 * k_pending calls completed from k_net_ready (device-callback context:
 * complete and wake only) or from a connection's idle timer.
 */
#include "kmodel.h"

static struct {
    struct net_fwd fwd[NET_FWD_MAX];
    uint32_t nfwd;
    struct {
        uint16_t guest, host;
    } over[NET_FWD_MAX];
    uint32_t nover;
} net;

uint8_t net_msg[CAP_MAX_RESULT];

/* ---- configuration ---------------------------------------------------- */

void net_init(void)
{
    k_memset(&net, 0, sizeof net);
}

static struct net_fwd *net_fwd_find(uint16_t guest)
{
    for (uint32_t i = 0; i < net.nfwd; i++)
        if (net.fwd[i].guest == guest)
            return &net.fwd[i];
    return NULL;
}

/* s[0..n) is a dotted quad (four numbers 0..255). */
static bool net_ipv4_ok(const char *s, size_t n)
{
    uint32_t parts = 0, v = 0, digits = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (digits == 0 || v > 255)
                return false;
            parts++;
            v = digits = 0;
        } else if (s[i] >= '0' && s[i] <= '9' && digits < 3) {
            v = v * 10 + (uint32_t)(s[i] - '0');
            digits++;
        } else {
            return false;
        }
    }
    return parts == 4;
}

/*
 * Host override of a forward's host port (capos-sim --hostfwd), applied
 * by the next boot. Returns 0, or CAP_ERR_INVALID_REQUEST for guest port
 * 0 or too many overrides.
 */
int net_hostfwd(uint16_t guest_port, uint16_t host_port)
{
    if (guest_port == 0)
        return CAP_ERR_INVALID_REQUEST;
    for (uint32_t i = 0; i < net.nover; i++)
        if (net.over[i].guest == guest_port) {
            net.over[i].host = host_port;
            return 0;
        }
    if (net.nover == NET_FWD_MAX)
        return CAP_ERR_INVALID_REQUEST;
    net.over[net.nover].guest = guest_port;
    net.over[net.nover].host = host_port;
    net.nover++;
    return 0;
}

static int net_cfg_fail(struct k_msg *mb, const char *what)
{
    k_msg_str(mb, what);
    return CAP_ERR_INVALID_REQUEST;
}

/*
 * A forward on a host address outside 127.0.0.0/8 reaches the network in
 * plaintext: allowed only with the entry's allowNonLoopback, and then
 * with a warning on the console. False with the reason appended to mb
 * (which already names the entry).
 */
static bool net_fwd_exposure_ok(const capnp_struct *f, const char *a, size_t al,
                                uint16_t guest, struct k_msg *mb)
{
    if (al >= 4 && k_memcmp(a, "127.", 4) == 0)
        return true;
    if (!capos_PortForward_get_allowNonLoopback(f)) {
        k_msg_str(mb, "hostAddress ");
        k_msg_put(mb, a, al);
        k_msg_str(mb, " is not loopback: a plaintext forward there needs "
                      "allowNonLoopback = true");
        return false;
    }
    char buf[160];
    struct k_msg w = {buf, sizeof buf, 0};
    buf[0] = 0;
    k_msg_str(&w, "capos-sim: warning: guest port ");
    k_msg_u64(&w, guest);
    k_msg_str(&w, " is forwarded from non-loopback address ");
    k_msg_put(&w, a, al);
    k_msg_str(&w, " (allowNonLoopback): plaintext reachable from the "
                  "network\n");
    k_log(buf);
    return true;
}

/*
 * Read kernelParams.portForwards of the manifest root (a SystemManifest;
 * fields and defaults through the generated accessors: hostAddress
 * 127.0.0.1, idleTimeoutSeconds 600), then apply the overrides.
 * Returns 0, or CAP_ERR_INVALID_REQUEST with a reason in mb.
 */
int net_configure(const uint8_t *bytes, size_t len, struct k_msg *mb)
{
    capnp_message m;
    capnp_struct root, kp;
    capnp_list fl = {0};
    capnp_read_options opt = {.traversal_limit_words = 1u << 20,
                              .nesting_limit = 32};
    net.nfwd = 0;
    if (capnp_msg_init(&m, bytes, len, &opt) < 0 ||
        capnp_msg_root(&m, &root) < 0)
        return net_cfg_fail(mb, "manifest: not a Cap'n Proto message");
    if (capos_SystemManifest_has_kernelParams(&root)) {
        if (capos_SystemManifest_get_kernelParams(&root, &kp) < 0 ||
            (capos_KernelParams_has_portForwards(&kp) &&
             capos_KernelParams_get_portForwards(&kp, &fl) < 0))
            return net_cfg_fail(mb,
                                "manifest: kernelParams.portForwards is not "
                                "a list of PortForward");
    }
    uint32_t n = capnp_list_len(&fl);
    if (n > NET_FWD_MAX)
        return net_cfg_fail(mb, "manifest: more than 16 portForwards");
    for (uint32_t i = 0; i < n; i++) {
        capnp_struct f;
        const char *a;
        size_t al;
        if (capnp_list_get_struct(&fl, i, &f) < 0 ||
            capos_PortForward_get_hostAddress(&f, &a, &al) < 0)
            return net_cfg_fail(mb, "manifest: portForwards: malformed entry");
        uint16_t guest = capos_PortForward_get_guestPort(&f);
        k_msg_str(mb, "manifest: portForwards[");
        k_msg_u64(mb, i);
        k_msg_str(mb, "]: ");
        if (!net_ipv4_ok(a, al))
            return net_cfg_fail(mb, "hostAddress must be an IPv4 dotted quad");
        if (guest == 0)
            return net_cfg_fail(mb, "guestPort must be 1 to 65535");
        if (!net_fwd_exposure_ok(&f, a, al, guest, mb))
            return CAP_ERR_INVALID_REQUEST;
        if (net_fwd_find(guest))
            return net_cfg_fail(mb, "a second forward for the same guestPort");
        struct net_fwd *fw = &net.fwd[net.nfwd++];
        k_memset(fw, 0, sizeof *fw);
        k_memcpy(fw->addr, a, al);
        fw->guest = guest;
        fw->host = capos_PortForward_get_hostPort(&f);
        fw->idle_s = capos_PortForward_get_idleTimeoutSeconds(&f);
        mb->len = 0;
        if (mb->cap)
            mb->buf[0] = 0;
    }
    for (uint32_t i = 0; i < net.nover; i++) {
        struct net_fwd *fw = net_fwd_find(net.over[i].guest);
        if (!fw) {
            k_msg_str(mb, "host forward for guest port ");
            k_msg_u64(mb, net.over[i].guest);
            return net_cfg_fail(mb, ": the manifest has no portForwards entry "
                                    "for that guest port");
        }
        fw->host = net.over[i].host;
    }
    return 0;
}

/* A TcpListenAuthority grant's badge: a guest port with a forward. */
int net_check_listen_port(uint64_t badge, struct k_msg *mb)
{
    if (badge == 0 || badge > 65535) {
        k_msg_str(mb, "tcpListenAuthority badge ");
        k_msg_u64(mb, badge);
        return net_cfg_fail(mb, " is not a guest port (1 to 65535)");
    }
    if (!net_fwd_find((uint16_t)badge)) {
        k_msg_str(mb, "tcpListenAuthority for guest port ");
        k_msg_u64(mb, badge);
        return net_cfg_fail(mb, ": kernelParams.portForwards has no forward "
                                "for it");
    }
    return 0;
}

/* See port.h. */
void k_net_ready(void *owner)
{
    struct net_owner *o = owner;
    o->ready(o);
}

/* ---- results ------------------------------------------------------------ */

/*
 * Begin a network method's result in buf: every one is a results struct
 * of one pointer (its `result`, or getConfig's `config`) holding a struct
 * of dw data words and np pointers, which *s builds. Callers pass the
 * generated CAPOS_<STRUCT>_DATA_WORDS and _POINTERS of that struct.
 */
int net_res_begin(capnp_builder *b, uint8_t *buf, uint32_t cap, uint16_t dw,
                  uint16_t np, capnp_struct_builder *s)
{
    capnp_struct_builder root;
    capnp_builder_init(b, buf, cap);
    if (capnp_init_root(b, 0, 1, &root) != 0 ||
        capnp_init_struct(&root, 0, dw, np, s) != 0)
        return -1;
    return 0;
}

int net_res_end(capnp_builder *b)
{
    size_t len = 0;
    if (capnp_finish(b, &len) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    return (int)len;
}

/* The TcpListenResult of NetworkManager.listenTcp and
 * TcpListenAuthority.listen: the listener (the call's result cap 0) when
 * err < 0, else error err. Returns its length or
 * CAP_ERR_INVALID_RESULT_BUFFER. */
int net_listen_result(struct k_call *c, int err)
{
    capnp_builder b;
    capnp_struct_builder s;
    if (net_res_begin(&b, c->result, c->result_cap,
                      CAPOS_TCP_LISTEN_RESULT_DATA_WORDS,
                      CAPOS_TCP_LISTEN_RESULT_POINTERS, &s) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (err >= 0)
        capos_TcpListenResult_set_error(&s, (uint16_t)err);
    else if (capos_TcpListenResult_set_listener(&s, 0) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    return net_res_end(&b);
}

/*
 * Listen on guest port guest through its forward. Returns -1 with
 * c->result_caps holding the new listener, the NetError, or
 * NET_NO_MEMORY.
 */
int net_listen(struct k_call *c, uint16_t guest, uint16_t backlog)
{
    struct net_fwd *fw = guest ? net_fwd_find(guest) : NULL;
    if (!fw)
        return NET_DENIED;
    if (fw->listening)
        return NET_IN_USE;
    if (backlog == 0)
        backlog = 1;
    if (backlog > NET_BACKLOG_MAX)
        backlog = NET_BACKLOG_MAX;
    struct k_object *lo;
    int r = tcplistener_new(fw, backlog, &lo);
    if (r == CAP_ERR_INVOKE_FAILED)
        return NET_NO_MEMORY;
    if (r < 0) {
        char line[128];
        struct k_msg m = {line, sizeof line, 0};
        k_msg_str(&m, "net: host ");
        k_msg_str(&m, fw->addr);
        k_msg_str(&m, ":");
        k_msg_u64(&m, fw->host);
        k_msg_str(&m, r == PORT_TCP_IN_USE ? " is already in use; guest port "
                                           : " cannot be bound; guest port ");
        k_msg_u64(&m, guest);
        k_msg_str(&m, " is not listening\n");
        k_log(line);
        return r == PORT_TCP_IN_USE ? NET_IN_USE : NET_DENIED;
    }
    fw->listening = true;
    c->result_caps[c->nresult_caps++] = lo;
    return -1;
}
