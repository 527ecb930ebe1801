#!/bin/sh
# Builds the base disk the local-qemu Packer source bakes from, without downloading a cloud
# image and without loop devices: mmdebstrap a Debian root (systemd, a kernel, OpenSSH, Python
# and ansible-core for the ansible-local provisioner, the fw_cfg first-boot reader), then
# `mkfs.ext4 -d` it into a raw file and convert that to qcow2. The kernel and initrd are copied
# out next to it for QEMU's direct kernel boot (no boot loader in the image).
#
#   base-disk.sh OUTDIR [SUITE]   writes OUTDIR/base.qcow2, OUTDIR/vmlinuz, OUTDIR/initrd.img
#
# Needs root, mmdebstrap, e2fsprogs, qemu-utils.
set -eu
out=${1:?usage: base-disk.sh OUTDIR [bookworm|trixie]}
suite=${2:-bookworm}
here=$(cd "$(dirname "$0")" && pwd)
size=${DEBPKG_BASE_DISK_SIZE:-3G}

mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/debpkg-base-disk.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

# systemd-networkd + DHCP on every virtio NIC; QEMU's user network resolver at 10.0.2.3.
mmdebstrap --variant=apt \
	--include=systemd-sysv,udev,kmod,linux-image-amd64,initramfs-tools,openssh-server,sudo,ca-certificates,curl,iproute2,python3,python3-apt,ansible-core \
	--customize-hook='echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" > "$1/etc/fstab"' \
	--customize-hook='echo debpkg-base > "$1/etc/hostname"' \
	--customize-hook='printf "[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n" > "$1/etc/systemd/network/50-dhcp.network"' \
	--customize-hook='echo "nameserver 10.0.2.3" > "$1/etc/resolv.conf"' \
	--customize-hook="install -m 0755 '$here/firstboot.sh' \"\$1/usr/local/sbin/debpkg-firstboot\"" \
	--customize-hook="install -m 0644 '$here/debpkg-firstboot.service' \"\$1/etc/systemd/system/debpkg-firstboot.service\"" \
	--customize-hook='chroot "$1" systemctl enable debpkg-firstboot.service systemd-networkd.service systemd-networkd-wait-online.service ssh.service' \
	--customize-hook='printf "HostKey /etc/ssh/ssh_host_ed25519_key\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n" > "$1/etc/ssh/sshd_config.d/debpkg.conf"' \
	--customize-hook='mkdir -p "$1/etc/systemd/system/ssh.service.d" && printf "[Service]\nTimeoutStartSec=10min\n" > "$1/etc/systemd/system/ssh.service.d/slow-boot.conf"' \
	--customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer' \
	--customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
	--customize-hook='echo uninitialized > "$1/etc/machine-id"' \
	--customize-hook="cp \"\$1\"/boot/vmlinuz-* '$work/vmlinuz' && cp \"\$1\"/boot/initrd.img-* '$work/initrd.img'" \
	"$suite" "$root"

mkfs.ext4 -q -F -L debpkg-root -d "$root" "$work/disk.raw" "$size"
qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/base.qcow2"
for f in base.qcow2 vmlinuz initrd.img; do mv "$work/$f" "$out/$f"; done
