# A local qemu build with no cloud image and no cloud-init: the base disk comes from
# packer/local/base-disk.sh (mmdebstrap), boots with QEMU's direct kernel boot, and gets the
# build's SSH key over fw_cfg (packer/local/firstboot.sh reads it). Then the same bake.yml as
# the cloud sources runs through ansible-local, the image's package versions are fetched, and
# the build's identity (SSH key, host keys, first-boot stamp, machine id) is removed so every
# machine booted from the image is new. Works under software emulation (local_accel).

source "qemu" "local" {
  iso_url          = "file://${var.local_base_disk}"
  iso_checksum     = "none"
  disk_image       = true
  skip_resize_disk = true
  skip_compaction  = true
  disk_interface   = "virtio"
  net_device       = "virtio-net"
  format           = "qcow2"
  # -accel comes from qemuargs: Packer 1.6.6's accelerator option cannot set tb-size.
  accelerator          = "none"
  headless             = true
  memory               = var.local_memory
  cpus                 = 1
  output_directory     = "${var.qemu_output_directory}/${local.image_name}"
  vm_name              = "${local.image_name}.qcow2"
  ssh_username         = "root"
  ssh_private_key_file = var.local_ssh_private_key_file
  ssh_timeout          = "40m"
  shutdown_command     = "shutdown -P now"
  shutdown_timeout     = "15m"
  qemuargs = [
    ["-accel", var.local_accel],
    ["-cpu", "max"],
    ["-kernel", var.local_kernel],
    ["-initrd", var.local_initrd],
    # systemd.firstboot=off: bake.yml resets the machine id, and systemd-firstboot would then
    # wait for a key on the console at the next boot.
    ["-append", "root=/dev/vda rw console=ttyS0 systemd.firstboot=off"],
    ["-fw_cfg", "name=opt/debpkg/firstboot,file=${var.local_firstboot}"],
    ["-serial", "file:${var.local_serial_log}"],
  ]
}

build {
  name    = "local"
  sources = ["source.qemu.local"]

  # The base disk has ansible-core and python3-apt already: no mirror needed before the bake.
  provisioner "shell" {
    environment_vars = ["DEBPKG_BAKE_VARS=${jsonencode(local.bake_vars)}"]
    inline = [
      "set -eu",
      "systemctl is-system-running --wait >/dev/null || true",
      "umask 077",
      "printf '%s\\n' \"$DEBPKG_BAKE_VARS\" > /root/debpkg-bake-vars.json",
    ]
  }

  provisioner "ansible-local" {
    playbook_file           = "${local.ansible_dir}/bake.yml"
    playbook_dir            = local.ansible_dir
    command                 = "ANSIBLE_FORCE_COLOR=0 PYTHONUNBUFFERED=1 ansible-playbook"
    extra_arguments         = ["--extra-vars", "@/root/debpkg-bake-vars.json"]
    clean_staging_directory = true
  }

  provisioner "shell" {
    inline = ["dpkg-query -W -f '$${Package}\\t$${Version}\\n' > /root/debpkg-image-packages.tsv"]
  }

  provisioner "file" {
    direction   = "download"
    source      = "/root/debpkg-image-packages.tsv"
    destination = var.packages_output
  }

  # No identity left in the image: the build's key, host keys and first-boot stamp go (the next
  # boot's fw_cfg data applies again and makes new host keys); bake.yml reset the machine id.
  provisioner "shell" {
    environment_vars = ["KEEP_ANSIBLE=${var.keep_ansible}"]
    inline = [
      "set -eu",
      "rm -rf /root/debpkg-bake-vars.json /root/debpkg-image-packages.tsv /root/.ansible /root/.ssh/authorized_keys /var/lib/debpkg-firstboot",
      "if [ \"$KEEP_ANSIBLE\" != true ]; then DEBIAN_FRONTEND=noninteractive apt-get purge -y -q --autoremove ansible-core; fi",
      "apt-get clean",
      "rm -rf /var/lib/apt/lists/*",
      "rm -f /etc/ssh/ssh_host_*",
      "echo debpkg-node > /etc/hostname",
    ]
  }

  post-processor "manifest" {
    output     = var.manifest_output
    strip_path = true
    custom_data = {
      image_type        = var.image_type
      color             = var.color
      debian_release    = var.debian_release
      repo_url          = var.repo_url
      repo_distribution = var.repo_distribution
      packages          = jsonencode(var.packages)
      packages_file     = var.packages_output
    }
  }
}
