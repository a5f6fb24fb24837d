/**
 * Lines of a bash script run as `unshare --mount --propagation private -- bash SCRIPT T ...`:
 * overlays over /etc, /usr and /var (upper dirs on a tmpfs at $T/ovl) and a tmpfs over /run,
 * so an install with root / (or dpkg -i) inside changes nothing on the machine and starts no
 * service (no /run/systemd/system). Everything goes when the namespace's last process exits.
 */
export const OVERLAY_ROOT = `mount -t tmpfs -o mode=0755 tmpfs "$T/ovl" || exit 89
for d in etc usr var; do
  mkdir -p "$T/ovl/$d/upper" "$T/ovl/$d/work"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$T/ovl/$d/upper,workdir=$T/ovl/$d/work" "/$d" || exit 90
done
mount -t tmpfs -o mode=0755 tmpfs /run || exit 91`;

/** libvirt's scrubbed hook environment, as an argv prefix. */
export const SCRUBBED_ENV = ['env', '-i', 'LC_ALL=C', 'HOME=/root', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

/** A script step: `step NAME argv...` leaves $OUT/NAME.{out,err,rc}; stdin from $STDIN when set. */
export const STEP = `step() { name=$1; shift; "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" <"\${STDIN:-/dev/null}"; echo $? >"$OUT/$name.rc"; }`;
