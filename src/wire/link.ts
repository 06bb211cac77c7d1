/**
 * Link-layer headers the observer reads before IP, their field offsets named once: Ethernet
 * II, Linux cooked capture v1 (SLL) and v2 (SLL2), and 802.1Q / 802.1ad tags. Which one a frame
 * starts with is the capture record's link type (`capture_record.ts`, `LINKTYPE_*`).
 *
 * @module
 */

/** Length of an Ethernet II header (no tag). */
export const ETH_HEADER_LEN = 14;
/** Offset of the EtherType in an Ethernet header (after two MAC addresses). */
export const ETH_TYPE = 12;
/** Length of a Linux cooked (SLL) header. */
export const SLL_HEADER_LEN = 16;
/** Offset of the protocol (an EtherType) in an SLL header. */
export const SLL_PROTOCOL = 14;
/** Length of a Linux cooked v2 (SLL2) header. */
export const SLL2_HEADER_LEN = 20;
/** Offset of the protocol (an EtherType) in an SLL2 header. */
export const SLL2_PROTOCOL = 0;
/** Length of an 802.1Q / 802.1ad tag. */
export const VLAN_TAG_LEN = 4;
/** Offset of the EtherType of what follows, in a tag. */
export const VLAN_INNER_TYPE = 2;

/** EtherType of IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** EtherType of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;
/** EtherType of an 802.1Q VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100;
/** EtherType of an 802.1ad (QinQ) service tag. */
export const ETHERTYPE_QINQ = 0x88a8;
/** EtherType of a service tag before 802.1ad was assigned its own (still seen). */
export const ETHERTYPE_QINQ_OLD = 0x9100;
