/* What a process with CAP_NET_RAW in a container can put on its bridge: UDP
 * datagrams built by hand (Ethernet, IPv4, UDP) on eth0, from eth0's own
 * address and MAC, to a destination MAC and addresses of its choice, sent in
 * the order given.  Prints "sent N" or "socket=ERRNO" / "send=ERRNO".
 *   rawudp DST_MAC PORT ADDR:PAYLOAD... */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static uint16_t csum(const uint8_t *b, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (n % 2)
        s += (uint32_t)(b[n - 1] << 8);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

int main(int argc, char **argv)
{
    uint8_t dmac[6];
    if (argc < 4 || sscanf(argv[1], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dmac[0], &dmac[1], &dmac[2], &dmac[3],
                           &dmac[4], &dmac[5]) != 6)
        return fprintf(stderr, "usage: rawudp DST_MAC PORT ADDR:PAYLOAD...\n"), 2;
    int port = atoi(argv[2]);
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0)
        return printf("socket=%s\n", strerrorname_np(errno)), 1;
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "eth0");
    int ip4 = socket(AF_INET, SOCK_DGRAM, 0);
    if (ioctl(ip4, SIOCGIFADDR, &ifr) < 0)
        return printf("SIOCGIFADDR=%s\n", strerrorname_np(errno)), 1;
    struct in_addr src = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
    if (ioctl(ip4, SIOCGIFHWADDR, &ifr) < 0)
        return printf("SIOCGIFHWADDR=%s\n", strerrorname_np(errno)), 1;
    uint8_t smac[6];
    memcpy(smac, ifr.ifr_hwaddr.sa_data, 6);
    struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex("eth0"), .sll_halen = 6};
    memcpy(ll.sll_addr, dmac, 6);
    int sent = 0;
    for (int i = 3; i < argc; i++) {
        char *colon = strchr(argv[i], ':');
        struct in_addr dst;
        if (!colon)
            return 2;
        *colon = 0;
        if (inet_pton(AF_INET, argv[i], &dst) != 1)
            return 2;
        const char *pl = colon + 1;
        size_t pn = strlen(pl), un = 8 + pn, tot = 20 + un;
        uint8_t f[1514] = {0}, *ip = f + 14, *udp = ip + 20;
        if (tot > sizeof f - 14)
            return 2;
        memcpy(f, dmac, 6), memcpy(f + 6, smac, 6);
        f[12] = 0x08, f[13] = 0x00;
        ip[0] = 0x45, ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot, ip[5] = (uint8_t)i, ip[8] = 64, ip[9] = 17;
        memcpy(ip + 12, &src, 4), memcpy(ip + 16, &dst, 4);
        uint16_t c = csum(ip, 20, 0);
        ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
        udp[0] = 40000 >> 8, udp[1] = 40000 & 0xff, udp[2] = (uint8_t)(port >> 8), udp[3] = (uint8_t)port;
        udp[4] = (uint8_t)(un >> 8), udp[5] = (uint8_t)un;
        memcpy(udp + 8, pl, pn);
        /* the pseudo-header: addresses, protocol, length */
        uint32_t ps = 17 + (uint32_t)un;
        for (int k = 12; k < 20; k += 2)
            ps += (uint32_t)(ip[k] << 8 | ip[k + 1]);
        c = csum(udp, un, ps);
        c = c ? c : 0xffff;
        udp[6] = (uint8_t)(c >> 8), udp[7] = (uint8_t)c;
        if (sendto(fd, f, 14 + tot, 0, (struct sockaddr *)&ll, sizeof ll) < 0)
            return printf("send=%s\n", strerrorname_np(errno)), 1;
        sent++;
    }
    printf("sent %d\n", sent);
    return 0;
}
