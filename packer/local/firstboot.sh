#!/bin/sh
# debpkg-firstboot: applies a machine's first-boot data from QEMU's fw_cfg (no cloud-init: it
# costs minutes per boot under software emulation). The data is a tar of files to place under
# / (etc/debpkg/color, etc/debpkg/agent.conf, root/.ssh/authorized_keys, etc/hostname). Applied
# once per distinct blob: a clone booted with new data regenerates its SSH host keys (clones of
# one image must not share them); a reboot with the same data changes nothing.
set -eu
PATH=/usr/sbin:/usr/bin:/sbin:/bin
BLOB=/sys/firmware/qemu_fw_cfg/by_name/opt/debpkg/firstboot/raw
STATE=/var/lib/debpkg-firstboot

modprobe qemu_fw_cfg 2>/dev/null || true
if [ ! -r "$BLOB" ]; then
	echo "debpkg-firstboot: no first-boot data in fw_cfg (opt/debpkg/firstboot); nothing to do"
	exit 0
fi
mkdir -p "$STATE"
# In /run: this runs in early boot, next to systemd-tmpfiles emptying /tmp.
tmp=$(mktemp /run/debpkg-firstboot.XXXXXX)
trap 'rm -f "$tmp"' EXIT
cat "$BLOB" >"$tmp"
sum=$(sha256sum "$tmp" | cut -d' ' -f1)
if [ "$(cat "$STATE/applied" 2>/dev/null || true)" = "$sum" ]; then
	echo "debpkg-firstboot: data $sum already applied"
	exit 0
fi
# New identity: a fresh SSH host key before ssh.service starts (ed25519 only: RSA keys take
# tens of seconds to generate under software emulation; sshd_config names this key).
rm -f /etc/ssh/ssh_host_*
ssh-keygen -q -t ed25519 -N '' -C "root@$(cat /etc/hostname 2>/dev/null || echo debpkg)" -f /etc/ssh/ssh_host_ed25519_key
# Files only, owned by root, nothing outside / (tar refuses absolute names and .. by default).
tar -x -f "$tmp" -C / --no-same-owner --no-overwrite-dir
if [ -s /etc/hostname ]; then hostname -F /etc/hostname; fi
printf '%s\n' "$sum" >"$STATE/applied.tmp"
mv "$STATE/applied.tmp" "$STATE/applied"
echo "debpkg-firstboot: applied $sum"
