/*
 * ksrc.c - the kernel cap sources: the one table of KernelCapSource
 * (schema/capos.capnp) rows that boot (init's caps), ProcessSpawner
 * (a child's kernel grants) and error messages (k_ksrc_name) share.
 *
 * Adding a kernel cap source is one row here: its schema name, the
 * interface of the object it makes, the function that makes it, an
 * optional badge check, and who may have it (K_KSRC_BOOT: init at boot;
 * K_KSRC_SPAWN: any ProcessSpawner holder for its child; K_KSRC_OWN: the
 * object reaches only the grantee itself, which the spawner's refusal
 * message says).
 */
#include "capos.capnp.h"
#include "kmodel.h"

static int g_console(struct k_process *p, const struct k_ksrc_args *a,
                     uint32_t *id)
{
    (void)a;
    return console_grant(p, id);
}

static int g_terminal(struct k_process *p, const struct k_ksrc_args *a,
                      uint32_t *id)
{
    (void)a;
    return terminal_grant(p, id);
}

static int g_timer(struct k_process *p, const struct k_ksrc_args *a,
                   uint32_t *id)
{
    (void)a;
    return timercap_grant(p, id);
}

static int g_spawner(struct k_process *p, const struct k_ksrc_args *a,
                     uint32_t *id)
{
    return spawner_grant(p, a->bytes, a->len, id);
}

static int g_bootpkg(struct k_process *p, const struct k_ksrc_args *a,
                     uint32_t *id)
{
    return bootpkg_grant(p, a->bytes, a->len, id);
}

static int g_nullcap(struct k_process *p, const struct k_ksrc_args *a,
                     uint32_t *id)
{
    (void)a;
    return nullcap_grant(p, id);
}

static int g_threadspawner(struct k_process *p, const struct k_ksrc_args *a,
                           uint32_t *id)
{
    (void)a;
    return threadspawner_grant(p, id);
}

static int g_threadcontrol(struct k_process *p, const struct k_ksrc_args *a,
                           uint32_t *id)
{
    (void)a;
    return threadcontrol_grant(p, id);
}

static int g_parkspace(struct k_process *p, const struct k_ksrc_args *a,
                       uint32_t *id)
{
    (void)a;
    return parkspace_grant(p, id);
}

static int g_netmgr(struct k_process *p, const struct k_ksrc_args *a,
                    uint32_t *id)
{
    (void)a;
    return netmgr_grant(p, id);
}

static int g_tcpauth(struct k_process *p, const struct k_ksrc_args *a,
                     uint32_t *id)
{
    return tcpauth_grant(p, a->badge, id);
}

static int g_sshhostkey(struct k_process *p, const struct k_ksrc_args *a,
                        uint32_t *id)
{
    return sshhostkey_grant(p, a->bytes, a->len, id);
}

static int g_streamterm(struct k_process *p, const struct k_ksrc_args *a,
                        uint32_t *id)
{
    (void)a;
    return streamterm_grant(p, id);
}

#define BOOT K_KSRC_BOOT
#define SPAWN K_KSRC_SPAWN
#define OWN K_KSRC_OWN
#define SRC(e) [CAPOS_KERNEL_CAP_SOURCE_##e]

/* Indexed by KernelCapSource ordinal; a row without grant is a source the
 * schema names but this kernel does not provide. */
static const struct k_ksrc ksrcs[] = {
    SRC(CONSOLE) = {"console", CAPOS_CONSOLE_INTERFACE_ID, g_console, NULL,
                    BOOT | SPAWN},
    SRC(TERMINAL) = {"terminal", CAPOS_TERMINAL_SESSION_INTERFACE_ID,
                     g_terminal, NULL, BOOT},
    SRC(TIMER) = {"timer", CAPOS_TIMER_INTERFACE_ID, g_timer, NULL,
                  BOOT | SPAWN},
    SRC(ENTROPY) = {"entropy", 0, NULL, NULL, 0},
    SRC(PROCESS_SPAWNER) = {"processSpawner",
                            CAPOS_PROCESS_SPAWNER_INTERFACE_ID, g_spawner, NULL,
                            BOOT},
    SRC(BOOT_PACKAGE) = {"bootPackage", CAPOS_BOOT_PACKAGE_INTERFACE_ID,
                         g_bootpkg, NULL, BOOT},
    SRC(SYSTEM_INFO) = {"systemInfo", 0, NULL, NULL, 0},
    SRC(NULL_CAP) = {"nullCap", CAPOS_NULL_CAP_INTERFACE_ID, g_nullcap, NULL,
                     BOOT | SPAWN},
    SRC(THREAD_SPAWNER) = {"threadSpawner", CAPOS_THREAD_SPAWNER_INTERFACE_ID,
                           g_threadspawner, NULL, BOOT | SPAWN | OWN},
    SRC(THREAD_CONTROL) = {"threadControl", CAPOS_THREAD_CONTROL_INTERFACE_ID,
                           g_threadcontrol, NULL, BOOT | SPAWN | OWN},
    SRC(PARK_SPACE) = {"parkSpace", CAPOS_PARK_SPACE_INTERFACE_ID, g_parkspace,
                       NULL, BOOT | SPAWN | OWN},
    SRC(NETWORK_MANAGER) = {"networkManager",
                            CAPOS_NETWORK_MANAGER_INTERFACE_ID, g_netmgr, NULL,
                            BOOT | SPAWN},
    SRC(TCP_LISTEN_AUTHORITY) = {"tcpListenAuthority",
                                 CAPOS_TCP_LISTEN_AUTHORITY_INTERFACE_ID,
                                 g_tcpauth, net_check_listen_port,
                                 BOOT | SPAWN},
    /* Boot only: init holds it and passes it to the one service the
     * custody rule allows (docs/ssh.md "Host key"). */
    SRC(SSH_DEVELOPMENT_HOST_KEY) = {"sshDevelopmentHostKey",
                                     CAPOS_SSH_HOST_KEY_INTERFACE_ID,
                                     g_sshhostkey, NULL, BOOT},
    SRC(TERMINAL_FROM_BYTE_STREAM) = {
        "terminalFromByteStream",
        CAPOS_TERMINAL_SESSION_FROM_BYTE_STREAM_INTERFACE_ID, g_streamterm,
        NULL, BOOT | SPAWN},
};

#define NKSRC (sizeof ksrcs / sizeof ksrcs[0])

/* The row of KernelCapSource src, or NULL past the schema's ordinals. */
const struct k_ksrc *k_ksrc(uint16_t src)
{
    return src < NKSRC && ksrcs[src].name ? &ksrcs[src] : NULL;
}

/* The schema name of KernelCapSource src, or NULL past the known ones. */
const char *k_ksrc_name(uint16_t src)
{
    const struct k_ksrc *s = k_ksrc(src);
    return s ? s->name : NULL;
}

/* Append to m the names of the sources with all of flags set and none of
 * without, joined by ", ". */
static void ksrc_list(struct k_msg *m, unsigned flags, unsigned without)
{
    bool first = true;
    for (size_t i = 0; i < NKSRC; i++) {
        const struct k_ksrc *s = &ksrcs[i];
        if (!s->grant || (s->flags & flags) != flags || (s->flags & without))
            continue;
        if (!first)
            k_msg_str(m, ", ");
        k_msg_str(m, s->name);
        first = false;
    }
}

/* "console, timer, ... and the child's own threadSpawner, ...": what
 * ProcessSpawner mints, for its refusal of any other kernel source. */
void k_ksrc_spawn_list(struct k_msg *m)
{
    ksrc_list(m, K_KSRC_SPAWN, K_KSRC_OWN);
    k_msg_str(m, " and the child's own ");
    ksrc_list(m, K_KSRC_SPAWN | K_KSRC_OWN, 0);
}
