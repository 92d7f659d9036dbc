#include "sim/port/lwip/device_stack.h"

#include "sim/clock/scheduler.h"

#include <cstring>
#include <stdexcept>

extern "C" {
#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcpip.h"
#include "netif/ethernet.h"
}

namespace lwipsim::port {

namespace {
constexpr uint8_t kDeviceMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
struct netif g_netif;

err_t link_output(struct netif* n, struct pbuf* p) {
    auto* self = static_cast<LinkNetif*>(n->state);
    link::Frame frame;
    frame.bytes.resize(p->tot_len);
    pbuf_copy_partial(p, frame.bytes.data(), p->tot_len, 0);
    frame.direction = link::Direction::kUp;
    self->send_up(std::move(frame));
    return ERR_OK;
}

err_t netif_init_fn(struct netif* n) {
    n->name[0] = 'e';
    n->name[1] = 'n';
    n->output = etharp_output;
    n->linkoutput = link_output;
    n->hwaddr_len = ETH_HWADDR_LEN;
    std::memcpy(n->hwaddr, kDeviceMac, sizeof kDeviceMac);
    n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    return ERR_OK;
}

ip4_addr_t parse_ip(const std::string& text) {
    ip4_addr_t a;
    if (ip4addr_aton(text.c_str(), &a) == 0)
        throw std::invalid_argument("not an IPv4 address: " + text);
    return a;
}

struct StartContext {
    LinkNetif* netif;
    const NetifConfig* config;
    sys_sem_t done;
};

void add_netif_in_tcpip_thread(void* arg) {
    auto* ctx = static_cast<StartContext*>(arg);
    if (ctx->netif != nullptr) {
        const NetifConfig& c = *ctx->config;
        ip4_addr_t ip = c.use_dhcp ? ip4_addr_t{0} : parse_ip(c.ip);
        ip4_addr_t mask = c.use_dhcp ? ip4_addr_t{0} : parse_ip(c.netmask);
        ip4_addr_t gw = c.use_dhcp ? ip4_addr_t{0} : parse_ip(c.gateway);
        netif_add(&g_netif, &ip, &mask, &gw, ctx->netif, netif_init_fn, tcpip_input);
        g_netif.mtu = c.mtu;
        ctx->netif->attach(&g_netif);
        netif_set_default(&g_netif);
        netif_set_up(&g_netif);
        netif_set_link_up(&g_netif);
        if (c.use_dhcp)
            dhcp_start(&g_netif);
    }
    sys_sem_signal(&ctx->done);
}
} // namespace

const char* profile_name() {
    return LWIPSIM_PROFILE_NAME;
}

TcpSettings profile_defaults() {
    TcpSettings s;
#if defined(LWIPSIM_PROFILE_ESP_IDF_V4_4)
    s.rto_initial_ms = 1500; // esp-lwip: rto = sv = 3 slow ticks
    s.synmaxrtx = 12;
    s.pcb_cap = MEMP_NUM_TCP_PCB;
#else
    s.rto_initial_ms = 3000;
    s.synmaxrtx = 6;
#endif
    return s;
}

void apply_tcp_settings(const TcpSettings& s) {
    auto check = [](bool ok, const char* what) {
        if (!ok)
            throw std::invalid_argument(what);
    };
    check(s.maxrtx >= 1 && s.maxrtx <= 12, "tcp_maxrtx must be 1..12 (lwIP's backoff table)");
    check(s.synmaxrtx >= 1 && s.synmaxrtx <= 12, "tcp_synmaxrtx must be 1..12");
    check(s.rto_initial_ms >= 500, "tcp_rto_initial must be at least 500ms (one slow-timer tick)");
    check(s.msl_ms >= 500, "tcp_msl must be at least 500ms");
    check(s.fin_wait_timeout_ms >= 500, "tcp_fin_wait_timeout must be at least 500ms");
    lwipsim_tcp_maxrtx = s.maxrtx;
    lwipsim_tcp_synmaxrtx = s.synmaxrtx;
    lwipsim_tcp_rto_initial_ms = s.rto_initial_ms;
    lwipsim_tcp_msl_ms = s.msl_ms;
    lwipsim_tcp_fin_wait_timeout_ms = s.fin_wait_timeout_ms;
    lwipsim_so_linger_available = s.so_linger_available ? 1 : 0;
    lwipsim_tcp_pcb_cap = s.pcb_cap;
}

void LinkNetif::send_up(link::Frame frame) {
    frame.id = next_id_++;
    frame.created_at = clock::Scheduler::current().now();
    uplink_->deliver(std::move(frame));
}

void LinkNetif::deliver(link::Frame frame) {
    if (netif_ == nullptr)
        return;
    // Like an Ethernet driver: the frame needs a pbuf from the device heap, or it is dropped.
    struct pbuf* p = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(frame.bytes.size()), PBUF_POOL);
    if (p == nullptr) {
        ++rx_dropped_;
        return;
    }
    pbuf_take(p, frame.bytes.data(), static_cast<u16_t>(frame.bytes.size()));
    if (netif_->input(p, netif_) != ERR_OK) {
        pbuf_free(p);
        ++rx_dropped_;
    }
}

void LinkNetif::set_link_up(bool up) {
    // Called from scheduler events; lwIP's netif API must run in the tcpip thread.
    tcpip_try_callback(
        up ? [](void* n) { netif_set_link_up(static_cast<struct netif*>(n)); }
           : [](void* n) { netif_set_link_down(static_cast<struct netif*>(n)); },
        netif_);
}

void start_stack(LinkNetif* netif, const NetifConfig& config, uint64_t seed) {
    lwipsim_rand_seed(seed);
    StartContext ctx{netif, &config, nullptr};
    sys_sem_new(&ctx.done, 0);
    tcpip_init([](void* arg) { add_netif_in_tcpip_thread(arg); }, &ctx);
    sys_sem_wait(&ctx.done);
    sys_sem_free(&ctx.done);
}

} // namespace lwipsim::port
