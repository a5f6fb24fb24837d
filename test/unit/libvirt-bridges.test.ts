import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { libvirtNetworkOfBridge } from '../../src/observe/libvirt-bridges.js';

describe("which libvirt network a bridge belongs to (only to name it in messages)", () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'natnet-lvbr-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("from libvirt's status files of active networks and from what the network hook learned; junk is skipped", () => {
    const status = tmp();
    writeFileSync(
      join(status, 'default.xml'),
      "<networkstatus>\n  <class_id bitmap='0-2'/>\n  <network>\n    <name>default</name>\n    <bridge name='virbr0' stp='on' delay='0'/>\n  </network>\n</networkstatus>\n",
    );
    writeFileSync(join(status, 'broken.xml'), '<networkstatus><network><name>x</name><bridge name=');
    writeFileSync(join(status, 'plain.xml'), "<network><name>y</name><bridge name='virbr7'/></network>");
    mkdirSync(join(status, 'dir.xml'));
    const lib = tmp();
    writeFileSync(join(lib, 'libvirt-networks.json'), JSON.stringify({ 'lv-net': 'virbr5' }));
    expect(Object.fromEntries(libvirtNetworkOfBridge(lib, status))).toEqual({ virbr0: 'default', virbr5: 'lv-net' });
  });

  it('no libvirt on the host: an empty map', () => {
    expect(libvirtNetworkOfBridge(join(tmp(), 'none'), join(tmp(), 'none')).size).toBe(0);
  });
});
