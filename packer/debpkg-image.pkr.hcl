# One template for the phoenix image types (os | foundation | immutable): a local qemu image
# and an AMI from Debian's cloud images, provisioned by ansible/bake.yml. Nothing registers at
# bake time; machines booted from the image register at first boot (ansible/boot.yml or the
# user-data of ansible/cloud-init.yml). Validates with Debian's Packer 1.6.6 and modern Packer
# (which also needs plugins.pkr.hcl; see docs/images.md).

locals {
  debian_version      = lookup({ bookworm = "12", trixie = "13" }, var.debian_release, "")
  image_name          = "${var.image_name_prefix}-${var.image_type}${var.color == "" ? "" : "-${var.color}"}-${var.debian_release}-${formatdate("YYYYMMDDhhmmss", timestamp())}"
  cloud_images        = "https://cloud.debian.org/images/cloud/${var.debian_release}/latest"
  base_image_url      = var.base_image_url != "" ? var.base_image_url : "${local.cloud_images}/debian-${local.debian_version}-genericcloud-amd64.qcow2"
  base_image_checksum = var.base_image_checksum != "" ? var.base_image_checksum : "file:${local.cloud_images}/SHA512SUMS"
  ansible_dir         = "${path.root}/../ansible"
  # What bake.yml gets (written to a file on the machine: no shell quoting of JSON).
  bake_vars = {
    debpkg_image_type        = var.image_type
    debpkg_image_color       = var.color
    debpkg_repo_url          = var.repo_url
    debpkg_repo_prefix       = var.repo_prefix
    debpkg_repo_distribution = var.repo_distribution
    debpkg_repo_key_checksum = var.repo_key_checksum
    debpkg_unit_packages     = [for name, version in var.packages : { name = name, version = version }]
    # foundation: install the packages at bake time (unheld) instead of at first boot
    debpkg_bake_foundation_packages = var.bake_packages
  }
  labels = {
    "debpkg-image-type" = var.image_type
    "debpkg-color"      = var.color
    "debpkg-release"    = var.debian_release
    "debpkg-packages"   = jsonencode(var.packages)
  }
}

source "qemu" "debian" {
  iso_url          = local.base_image_url
  iso_checksum     = local.base_image_checksum
  disk_image       = true
  disk_size        = var.qemu_disk_size
  disk_interface   = "virtio"
  net_device       = "virtio-net"
  format           = "qcow2"
  disk_compression = true
  accelerator      = var.qemu_accelerator
  headless         = true
  memory           = 1024
  cpus             = 2
  output_directory = "${var.qemu_output_directory}/${local.image_name}"
  vm_name          = "${local.image_name}.qcow2"
  # cloud-init's NoCloud seed over Packer's HTTP server creates the build user (http/user-data).
  http_directory   = "${path.root}/http"
  qemuargs         = [["-smbios", "type=1,serial=ds=nocloud-net;s=http://{{ .HTTPIP }}:{{ .HTTPPort }}/"]]
  ssh_username     = "packer"
  ssh_password     = "packer"
  ssh_timeout      = "15m"
  shutdown_command = "sudo shutdown -P now"
}

source "amazon-ebs" "debian" {
  region        = var.aws_region
  instance_type = var.aws_instance_type
  ami_name      = local.image_name
  source_ami_filter {
    filters = {
      name                = "debian-${local.debian_version}-amd64-*"
      architecture        = "x86_64"
      virtualization-type = "hvm"
      root-device-type    = "ebs"
    }
    # Debian's cloud team
    owners      = ["136693071363"]
    most_recent = true
  }
  ssh_username = "admin"
  tags         = merge(local.labels, { Name = local.image_name })
}

build {
  sources = ["source.qemu.debian", "source.amazon-ebs.debian"]

  # Debian's ansible-core for ansible-local; the bake variables as a file for --extra-vars @file.
  provisioner "shell" {
    environment_vars = ["DEBPKG_BAKE_VARS=${jsonencode(local.bake_vars)}"]
    execute_command  = "chmod +x {{ .Path }}; sudo env {{ .Vars }} {{ .Path }}"
    inline = [
      "set -eu",
      "cloud-init status --wait >/dev/null || true",
      "export DEBIAN_FRONTEND=noninteractive",
      "apt-get update -q",
      "apt-get install -y -q --no-install-recommends ansible-core python3-apt",
      "umask 077",
      "printf '%s\\n' \"$DEBPKG_BAKE_VARS\" > /root/debpkg-bake-vars.json",
    ]
  }

  provisioner "ansible-local" {
    playbook_file   = "${local.ansible_dir}/bake.yml"
    playbook_dir    = local.ansible_dir
    command         = "sudo ANSIBLE_FORCE_COLOR=0 PYTHONUNBUFFERED=1 ansible-playbook"
    extra_arguments = ["--extra-vars", "@/root/debpkg-bake-vars.json"]
    # ansible.cfg in ansible/ applies: Packer runs ansible-playbook from the staging directory.
    clean_staging_directory = true
  }

  # A lean, identity-free image: no Ansible (unless kept), no apt lists, cloud-init runs again
  # at the next boot, the build user cannot log in.
  provisioner "shell" {
    environment_vars = ["KEEP_ANSIBLE=${var.keep_ansible}"]
    execute_command  = "chmod +x {{ .Path }}; sudo env {{ .Vars }} {{ .Path }}"
    inline = [
      "set -eu",
      "rm -rf /root/debpkg-bake-vars.json /root/.ansible",
      "if [ \"$KEEP_ANSIBLE\" != true ]; then DEBIAN_FRONTEND=noninteractive apt-get purge -y -q --autoremove ansible-core; fi",
      "apt-get clean",
      "rm -rf /var/lib/apt/lists/*",
      "cloud-init clean --logs",
      "passwd -l packer",
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
    }
  }
}
