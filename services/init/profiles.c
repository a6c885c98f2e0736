/*
 * profiles.c - init's check of kernelParams.profiles against the service
 * graph it has planned (plan.c): what authority-broker, shell-launcher and
 * capos-shell (a profile's default grants per program)
 * will read from the same manifest once they run. A profile that names a
 * cap no broker holds, a binary the manifest lacks, or a launcher facet
 * with the wrong badge would otherwise be found only when a user logs
 * in (the broker leaves such an entry out, fail closed). Every problem is
 * counted like the graph's own, so it stops the boot, and the build's
 * manifest check (tools/check-manifest.c) runs this same code.
 */
#include <string.h>

#include "init.h"

#define PROFILE_NAME_MAX 64u /* the broker's bound on a profile name */
#define LAUNCHER_PREFIX "launcher."

static bool eq(const char *a, size_t al, const char *b, size_t bl)
{
    return al == bl && memcmp(a, b, al) == 0;
}

static int clip(size_t n)
{
    return (int)(n > 48 ? 48 : n);
}

/* The caps the broker keeps for itself: never passed on in a bundle. */
static bool broker_own(const char *n, size_t l)
{
    static const char *const own[] = {"broker", "sessions", "boot", "audit",
                                      "console"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (eq(n, l, own[i], strlen(own[i])))
            return true;
    return false;
}

/* The grant named n of any authority-broker service, or NULL. */
static const struct plan_grant *broker_grant(const struct init *in,
                                             const char *n, size_t l)
{
    for (uint32_t i = 0; i < in->nsvcs; i++) {
        const struct service *s = &in->svcs[i];
        if (!eq(s->binary, s->blen, "authority-broker", 16))
            continue;
        for (uint32_t k = 0; k < s->ngrants; k++)
            if (eq(n, l, s->grants[k].name, s->grants[k].nlen))
                return &s->grants[k];
    }
    return NULL;
}

static bool have_broker(const struct init *in)
{
    for (uint32_t i = 0; i < in->nsvcs; i++)
        if (eq(in->svcs[i].binary, in->svcs[i].blen, "authority-broker", 16))
            return true;
    return false;
}

/* Profile p (index pi) caps: each `from` a cap a broker holds and may
 * pass on; bundle names unique. */
static void check_caps(struct init *in, const capnp_struct *p, const char *pn,
                       size_t pl, bool broker)
{
    capnp_list caps = {0};
    if (capos_SessionProfile_has_caps(p) && capos_SessionProfile_get_caps(p, &caps) < 0) {
        init_problem(in, "profile \"%.*s\": caps is not a list", clip(pl), pn);
        return;
    }
    for (uint32_t k = 0; k < capnp_list_len(&caps); k++) {
        capnp_struct c;
        const char *n = "", *f = "";
        size_t nl = 0, fl = 0;
        if (capnp_list_get_struct(&caps, k, &c) < 0 ||
            (capos_ProfileCap_has_name(&c) && capos_ProfileCap_get_name(&c, &n, &nl)) ||
            (capos_ProfileCap_has_from(&c) && capos_ProfileCap_get_from(&c, &f, &fl)) ||
            !capos_capset_name_ok(n, nl) || fl == 0) {
            init_problem(in,
                         "profile \"%.*s\": caps[%u] needs a name (1 to 47 "
                         "printable bytes) and a `from`",
                         clip(pl), pn, k);
            continue;
        }
        for (uint32_t j = 0; j < k; j++) {
            capnp_struct o;
            const char *on;
            size_t ol;
            if (capnp_list_get_struct(&caps, j, &o) == 0 &&
                capos_ProfileCap_get_name(&o, &on, &ol) == 0 &&
                eq(n, nl, on, ol))
                init_problem(in, "profile \"%.*s\": two caps are named \"%.*s\"",
                             clip(pl), pn, clip(nl), n);
        }
        if (!broker)
            continue;
        if (broker_own(f, fl))
            init_problem(in,
                         "profile \"%.*s\": cap \"%.*s\": the broker never "
                         "passes on its own \"%.*s\"",
                         clip(pl), pn, clip(nl), n, clip(fl), f);
        else if (!broker_grant(in, f, fl))
            init_problem(in,
                         "profile \"%.*s\": cap \"%.*s\" comes from \"%.*s\", "
                         "which no authority-broker service is granted (add "
                         "it to the broker's caps)",
                         clip(pl), pn, clip(nl), n, clip(fl), f);
    }
}

/* Profile p's binaries: each one the manifest has. */
static void check_binaries(struct init *in, const capnp_struct *root,
                           const capnp_struct *p, const char *pn, size_t pl)
{
    capnp_list bl = {0};
    if (capos_SessionProfile_has_binaries(p) && capos_SessionProfile_get_binaries(p, &bl) < 0) {
        init_problem(in, "profile \"%.*s\": binaries is not a list of Text",
                     clip(pl), pn);
        return;
    }
    for (uint32_t k = 0; k < capnp_list_len(&bl); k++) {
        const char *b;
        size_t l;
        if (capnp_list_get_text(&bl, k, &b, &l) < 0 || l == 0)
            init_problem(in, "profile \"%.*s\": binaries[%u] is empty",
                         clip(pl), pn, k);
        else if (!plan_have_binary(root, b, l))
            init_problem(in,
                         "profile \"%.*s\": binary \"%.*s\" is not in "
                         "binaries",
                         clip(pl), pn, clip(l), b);
    }
}

/* Is t[0..tl) one of the texts of list l? */
static bool in_texts(const capnp_list *l, const char *t, size_t tl)
{
    for (uint32_t k = 0; k < capnp_list_len(l); k++) {
        const char *s;
        size_t n;
        if (capnp_list_get_text(l, k, &s, &n) == 0 && eq(s, n, t, tl))
            return true;
    }
    return false;
}

/* Is n[0..nl) the name of one of profile p's caps? */
static bool profile_has_cap(const capnp_struct *p, const char *n, size_t nl)
{
    capnp_list caps;
    if (!capos_SessionProfile_has_caps(p) ||
        capos_SessionProfile_get_caps(p, &caps) < 0)
        return false;
    for (uint32_t k = 0; k < capnp_list_len(&caps); k++) {
        capnp_struct c;
        const char *s;
        size_t l;
        if (capnp_list_get_struct(&caps, k, &c) == 0 &&
            capos_ProfileCap_get_name(&c, &s, &l) == 0 && eq(s, l, n, nl))
            return true;
    }
    return false;
}

/* Profile p's programs: each a binary of the profile, given at most 8
 * caps, each one of the profile's caps. */
static void check_programs(struct init *in, const capnp_struct *p,
                           const char *pn, size_t pl)
{
    capnp_list progs = {0}, bins = {0};
    if (capos_SessionProfile_has_programs(p) &&
        capos_SessionProfile_get_programs(p, &progs) < 0) {
        init_problem(in, "profile \"%.*s\": programs is not a list",
                     clip(pl), pn);
        return;
    }
    if (capos_SessionProfile_has_binaries(p))
        (void)capos_SessionProfile_get_binaries(p, &bins);
    for (uint32_t i = 0; i < capnp_list_len(&progs); i++) {
        capnp_struct pc;
        capnp_list names = {0};
        const char *b = "";
        size_t bl = 0;
        if (capnp_list_get_struct(&progs, i, &pc) < 0 ||
            (capos_ProgramCaps_has_binary(&pc) &&
             capos_ProgramCaps_get_binary(&pc, &b, &bl) < 0) ||
            (capos_ProgramCaps_has_caps(&pc) &&
             capos_ProgramCaps_get_caps(&pc, &names) < 0)) {
            init_problem(in, "profile \"%.*s\": programs[%u] is malformed",
                         clip(pl), pn, i);
            continue;
        }
        if (!in_texts(&bins, b, bl))
            init_problem(in,
                         "profile \"%.*s\": programs[%u]: \"%.*s\" is not one "
                         "of the profile's binaries",
                         clip(pl), pn, i, clip(bl), b);
        if (capnp_list_len(&names) > 8)
            init_problem(in,
                         "profile \"%.*s\": programs[%u]: %u caps; a program "
                         "gets at most 8",
                         clip(pl), pn, i, capnp_list_len(&names));
        for (uint32_t k = 0; k < capnp_list_len(&names); k++) {
            const char *c;
            size_t cl;
            if (capnp_list_get_text(&names, k, &c, &cl) < 0 ||
                !profile_has_cap(p, c, cl))
                init_problem(in,
                             "profile \"%.*s\": programs[%u] (%.*s): cap "
                             "\"%.*s\" is not one of the profile's caps",
                             clip(pl), pn, i, clip(bl), b,
                             clip(cl), cl ? c : "");
        }
    }
}

/* What a model's service must not hold (session, terminal, launcher,
 * boot secrets, network, host keys, identity stores), by interface. */
static const struct {
    uint64_t iface;
    const char *name;
} model_refused[] = {
    {CAPOS_TERMINAL_SESSION_INTERFACE_ID, "a TerminalSession"},
    {CAPOS_PROCESS_SPAWNER_INTERFACE_ID, "a ProcessSpawner"},
    {CAPOS_BOOT_PACKAGE_INTERFACE_ID, "the BootPackage"},
    {CAPOS_NETWORK_MANAGER_INTERFACE_ID, "a NetworkManager"},
    {CAPOS_TCP_LISTEN_AUTHORITY_INTERFACE_ID, "a TcpListenAuthority"},
    {CAPOS_SSH_HOST_KEY_INTERFACE_ID, "an SshHostKey"},
    {CAPOS_SESSION_MANAGER_INTERFACE_ID, "a SessionManager"},
    {CAPOS_USER_SESSION_INTERFACE_ID, "a UserSession"},
    {CAPOS_AUTHORITY_BROKER_INTERFACE_ID, "an AuthorityBroker"},
    {CAPOS_CREDENTIAL_STORE_INTERFACE_ID, "a CredentialStore"},
    {CAPOS_ACCOUNT_STORE_READER_INTERFACE_ID, "an AccountStoreReader"},
    {CAPOS_ACCOUNT_STORE_MANAGER_INTERFACE_ID, "an AccountStoreManager"},
    {CAPOS_RESTRICTED_SHELL_LAUNCHER_INTERFACE_ID,
     "a RestrictedShellLauncher"},
    {CAPOS_ENDPOINT_INTERFACE_ID, "an Endpoint (a launcher facet?)"},
    {CAPOS_AUDIT_LOG_READER_INTERFACE_ID, "an AuditLogReader"},
    {CAPOS_AUTHORIZED_KEY_STORE_INTERFACE_ID, "an AuthorizedKeyStore"},
};

/* Why grant g is more than a model may hold, or NULL. An untyped import
 * is refused too: its authority cannot be told. */
static const char *model_overreach(const struct plan_grant *g)
{
    uint64_t iface = 0;
    if (g->kind == P_KERNEL &&
        g->ksrc == CAPOS_KERNEL_CAP_SOURCE_TCP_LISTEN_AUTHORITY)
        iface = CAPOS_TCP_LISTEN_AUTHORITY_INTERFACE_ID;
    else if (g->kind == P_PASS && g->import_svc < 0)
        iface = g->pass.interface_id; /* a kernel cap init passes on */
    else if (g->kind == P_PASS && g->iface == 0)
        return "an untyped import (give it an interfaceId)";
    else if (g->kind == P_PASS)
        iface = g->iface;
    for (size_t i = 0; i < sizeof model_refused / sizeof model_refused[0];
         i++)
        if (iface == model_refused[i].iface)
            return model_refused[i].name;
    return NULL;
}

/* The service behind broker grant g (a model) holds nothing a model
 * must not: it sees prompts and tool descriptors, never session caps. */
static void check_model_holder(struct init *in, const struct plan_grant *g,
                               const char *pn, size_t pl)
{
    if (g->kind != P_PASS || g->import_svc < 0 ||
        (uint32_t)g->import_svc >= in->nsvcs)
        return;
    const struct service *s = &in->svcs[g->import_svc];
    for (uint32_t k = 0; k < s->ngrants; k++) {
        const char *why = model_overreach(&s->grants[k]);
        if (why)
            init_problem(in,
                         "profile \"%.*s\": its languageModel is served by "
                         "%.*s, whose cap \"%.*s\" is %s: a model holds no "
                         "session, terminal, launcher or network authority",
                         clip(pl), pn, clip(s->nlen), s->name,
                         clip(s->grants[k].nlen), s->grants[k].name, why);
    }
}

/* Profile p's languageModel: a cap a broker is granted typed
 * LanguageModel (the broker passes nothing else as the model), served
 * by a service holding no session authority. */
static void check_model(struct init *in, const capnp_struct *p,
                        const char *pn, size_t pl, bool broker)
{
    const char *m = "";
    size_t ml = 0;
    if (capos_SessionProfile_has_languageModel(p) &&
        capos_SessionProfile_get_languageModel(p, &m, &ml) < 0) {
        init_problem(in, "profile \"%.*s\": languageModel is not Text",
                     clip(pl), pn);
        return;
    }
    if (ml == 0 || !broker)
        return;
    const struct plan_grant *g = broker_grant(in, m, ml);
    if (broker_own(m, ml))
        init_problem(in,
                     "profile \"%.*s\": languageModel: the broker never "
                     "passes on its own \"%.*s\"",
                     clip(pl), pn, clip(ml), m);
    else if (!g)
        init_problem(in,
                     "profile \"%.*s\": languageModel \"%.*s\" is no cap an "
                     "authority-broker service is granted (add it to the "
                     "broker's caps)",
                     clip(pl), pn, clip(ml), m);
    else if (g->iface != CAPOS_LANGUAGE_MODEL_INTERFACE_ID)
        init_problem(in,
                     "profile \"%.*s\": languageModel \"%.*s\": the broker's "
                     "grant must be typed LanguageModel (interfaceId = "
                     "Capos.languageModelInterfaceId)",
                     clip(pl), pn, clip(ml), m);
    else
        check_model_holder(in, g, pn, pl);
}

/* Profile p's tools: names of 1 to 64 bytes, each once, modes that
 * PermissionMode has, and a languageModel to use them with. */
static void check_tools(struct init *in, const capnp_struct *p,
                        const char *pn, size_t pl)
{
    capnp_list tl = {0};
    if (capos_SessionProfile_has_tools(p) &&
        capos_SessionProfile_get_tools(p, &tl) < 0) {
        init_problem(in, "profile \"%.*s\": tools is not a list", clip(pl),
                     pn);
        return;
    }
    if (capnp_list_len(&tl) > 0 && !capos_SessionProfile_has_languageModel(p))
        init_problem(in,
                     "profile \"%.*s\": tools without a languageModel",
                     clip(pl), pn);
    for (uint32_t k = 0; k < capnp_list_len(&tl); k++) {
        capnp_struct t, o;
        const char *n = "", *on;
        size_t nl = 0, ol;
        if (capnp_list_get_struct(&tl, k, &t) < 0 ||
            (capos_ToolPermission_has_tool(&t) &&
             capos_ToolPermission_get_tool(&t, &n, &nl) < 0) ||
            nl == 0 || nl > 64 ||
            capos_ToolPermission_get_mode(&t) > CAPOS_PERMISSION_MODE_FORBIDDEN) {
            init_problem(in,
                         "profile \"%.*s\": tools[%u] needs a tool name of 1 "
                         "to 64 bytes and a mode",
                         clip(pl), pn, k);
            continue;
        }
        for (uint32_t j = 0; j < k; j++)
            if (capnp_list_get_struct(&tl, j, &o) == 0 &&
                capos_ToolPermission_get_tool(&o, &on, &ol) == 0 &&
                eq(n, nl, on, ol))
                init_problem(in,
                             "profile \"%.*s\": tool \"%.*s\" is listed twice",
                             clip(pl), pn, clip(nl), n);
    }
}

/* The profile named n in list, its index in *at; false if none. */
static bool find_profile(const capnp_list *list, const char *n, size_t l,
                         uint32_t *at)
{
    for (uint32_t i = 0; i < capnp_list_len(list); i++) {
        capnp_struct p;
        const char *pn;
        size_t pl;
        if (capnp_list_get_struct(list, i, &p) == 0 &&
            capos_SessionProfile_get_name(&p, &pn, &pl) == 0 &&
            eq(n, l, pn, pl)) {
            *at = i;
            return true;
        }
    }
    return false;
}

/* Every broker cap "launcher.P" is a facet for profile P: P exists and
 * the facet's badge is 1 + P's index (shell-launcher reads
 * profiles[badge-1]). */
static void check_launchers(struct init *in, const capnp_list *list)
{
    const size_t pre = sizeof LAUNCHER_PREFIX - 1;
    for (uint32_t i = 0; i < in->nsvcs; i++) {
        const struct service *s = &in->svcs[i];
        if (!eq(s->binary, s->blen, "authority-broker", 16))
            continue;
        for (uint32_t k = 0; k < s->ngrants; k++) {
            const struct plan_grant *g = &s->grants[k];
            if (g->nlen <= pre || memcmp(g->name, LAUNCHER_PREFIX, pre) != 0)
                continue;
            const char *pn = g->name + pre;
            size_t pl = g->nlen - pre;
            uint32_t at;
            if (!find_profile(list, pn, pl, &at))
                init_problem(in,
                             "%.*s: cap \"%.*s\": there is no profile "
                             "\"%.*s\"",
                             clip(s->nlen), s->name, clip(g->nlen), g->name,
                             clip(pl), pn);
            else if (g->badge != (uint64_t)at + 1)
                init_problem(in,
                             "%.*s: cap \"%.*s\": badge %llu, but profile "
                             "\"%.*s\" is profiles[%u], so its launcher "
                             "facet needs badge %u",
                             clip(s->nlen), s->name, clip(g->nlen), g->name,
                             (unsigned long long)g->badge, clip(pl), pn, at,
                             at + 1);
        }
    }
}

void plan_profiles(struct init *in, const capnp_struct *root)
{
    capnp_struct kp;
    capnp_list list = {0};
    if (!capos_SystemManifest_has_kernelParams(root))
        return; /* no kernelParams: nothing to check */
    if (capos_SystemManifest_get_kernelParams(root, &kp) < 0 ||
        (capos_KernelParams_has_profiles(&kp) && capos_KernelParams_get_profiles(&kp, &list))) {
        init_problem(in, "kernelParams.profiles is not a list of "
                         "SessionProfile");
        return;
    }
    bool broker = have_broker(in);
    for (uint32_t i = 0; i < capnp_list_len(&list); i++) {
        capnp_struct p;
        const char *pn = "";
        size_t pl = 0;
        if (capnp_list_get_struct(&list, i, &p) < 0 ||
            (capos_SessionProfile_has_name(&p) && capos_SessionProfile_get_name(&p, &pn, &pl)) ||
            pl == 0 || pl > PROFILE_NAME_MAX) {
            init_problem(in, "profiles[%u] needs a name of 1 to %u bytes", i,
                         PROFILE_NAME_MAX);
            continue;
        }
        uint32_t first;
        if (find_profile(&list, pn, pl, &first) && first != i)
            init_problem(in, "two profiles are named \"%.*s\"", clip(pl), pn);
        check_caps(in, &p, pn, pl, broker);
        check_binaries(in, root, &p, pn, pl);
        check_programs(in, &p, pn, pl);
        check_model(in, &p, pn, pl, broker);
        check_tools(in, &p, pn, pl);
    }
    check_launchers(in, &list);
}
