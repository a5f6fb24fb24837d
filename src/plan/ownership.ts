import type { LinkState } from '../observe/links.js';

/**
 * Why an existing link is not the one we created, or null when it is: the kind we create
 * (`ip -j -d` linkinfo) and the MAC we pinned at creation. A name in a record is never enough
 * to delete a link (a stale or tampered record may name someone's veth). Pure.
 */
export function notOurLink(link: LinkState, kind: 'bridge' | 'dummy', pinnedMac: string): string | null {
  if (link.kind !== kind) return `it is a ${link.kind || 'link of no kind'}, not the ${kind} we created`;
  if (link.mac !== pinnedMac) return `its MAC ${link.mac} is not the ${pinnedMac} we pinned`;
  return null;
}

/** libvirt gives the host side of a tap the guest MAC with fe: in front; anything else is not this VM's tap. */
export function isTapOf(link: LinkState, guestMac: string): boolean {
  return link.mac === `fe${guestMac.slice(2)}`;
}
