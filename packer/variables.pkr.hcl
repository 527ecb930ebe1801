# Inputs of the debpkg image template (debpkg-image.pkr.hcl). Every value has a default so that
# `packer validate` works as is; CI passes the real ones with -var / -var-file.

variable "image_type" {
  type        = string
  default     = "foundation"
  description = "Phoenix image type: os (runtime deps only), foundation (+ debpkg repo source; packages installed at boot), immutable (+ pinned packages, agents enabled but unregistered)."
  validation {
    condition     = contains(["os", "foundation", "immutable"], var.image_type)
    error_message = "The image_type must be os, foundation or immutable."
  }
}

variable "color" {
  type        = string
  default     = ""
  description = "Color the image is meant for (blue, green or empty): image name, tags and manifest only. Machines get their color at first boot."
  validation {
    condition     = contains(["", "blue", "green"], var.color)
    error_message = "The color must be blue, green or empty."
  }
}

variable "debian_release" {
  type        = string
  default     = "bookworm"
  description = "Debian release of the base image: bookworm or trixie."
  validation {
    condition     = contains(["bookworm", "trixie"], var.debian_release)
    error_message = "The debian_release must be bookworm or trixie."
  }
}

variable "repo_url" {
  type        = string
  default     = "http://10.0.0.5:8080"
  description = "The debpkg repo server as the machines reach it (foundation and immutable images)."
  validation {
    condition     = substr(var.repo_url, 0, 7) == "http://" || substr(var.repo_url, 0, 8) == "https://"
    error_message = "The repo_url must be an http:// or https:// URL."
  }
}

variable "repo_prefix" {
  type        = string
  default     = ""
  description = "Publish prefix of the distribution (empty: published at the root)."
}

variable "repo_distribution" {
  type        = string
  default     = "stable"
  description = "Published distribution the machines install from."
}

variable "repo_key_checksum" {
  type        = string
  default     = ""
  description = "Pin of the archive key, e.g. sha256:<hex of /keys/archive.asc>; empty trusts what the server serves."
}

variable "packages" {
  type        = map(string)
  default     = {}
  description = "Packages and their exact versions, e.g. { hello-web = \"1.2.0-1\" }: installed in immutable images, recorded in the manifest for every type."
}

variable "image_name_prefix" {
  type    = string
  default = "debpkg"
}

variable "manifest_output" {
  type        = string
  default     = "packer-manifest.json"
  description = "Where the manifest post-processor records image ids and package versions."
}

variable "keep_ansible" {
  type        = bool
  default     = false
  description = "Keep ansible-core in the image (needed only to run boot.yml with ansible-pull on the machine itself)."
}

# qemu (local images)
variable "base_image_url" {
  type        = string
  default     = ""
  description = "qemu: base cloud image (qcow2); empty: Debian's latest genericcloud image of debian_release."
}

variable "base_image_checksum" {
  type        = string
  default     = ""
  description = "qemu: checksum of the base image (sha512:<hex> or file:<url>); empty: Debian's SHA512SUMS next to the image, fetched even by packer validate."
}

variable "qemu_accelerator" {
  type    = string
  default = "kvm"
}

variable "qemu_disk_size" {
  type    = string
  default = "4G"
}

variable "qemu_output_directory" {
  type    = string
  default = "output"
}

# amazon-ebs
variable "aws_region" {
  type    = string
  default = "eu-central-1"
}

variable "aws_instance_type" {
  type    = string
  default = "t3.small"
}

# qemu.local: bakes from a base disk built on this machine (packer/local/base-disk.sh), booted
# with QEMU's direct kernel boot and first-boot data over fw_cfg (packer/local/firstboot.sh).
variable "local_base_disk" {
  type        = string
  default     = "/var/lib/debpkg/vm/base.qcow2"
  description = "qemu.local: absolute path of the base disk (qcow2) from packer/local/base-disk.sh."
}

variable "local_kernel" {
  type        = string
  default     = "/var/lib/debpkg/vm/vmlinuz"
  description = "qemu.local: the base disk's kernel, for direct kernel boot."
}

variable "local_initrd" {
  type        = string
  default     = "/var/lib/debpkg/vm/initrd.img"
  description = "qemu.local: the base disk's initrd."
}

variable "local_firstboot" {
  type        = string
  default     = "/var/lib/debpkg/vm/packer-firstboot.tar"
  description = "qemu.local: first-boot data for the build VM (a tar holding root/.ssh/authorized_keys for ssh_private_key_file)."
}

variable "local_ssh_private_key_file" {
  type        = string
  default     = ""
  description = "qemu.local: private key of the authorized key in local_firstboot (Packer logs in as root with it)."
}

variable "local_accel" {
  type        = string
  default     = "kvm"
  description = "qemu.local: QEMU -accel value: kvm, or tcg,tb-size=128 where there is no usable KVM (software emulation; a small translation cache keeps QEMU's memory low)."
}

variable "local_memory" {
  type    = number
  default = 768
}

variable "local_serial_log" {
  type        = string
  default     = "packer-serial.log"
  description = "qemu.local: where the build VM's serial console (kernel and systemd messages) goes."
}

variable "packages_output" {
  type        = string
  default     = "image-packages.tsv"
  description = "qemu.local: every package and version in the baked image (dpkg-query), fetched from the build VM."
}

variable "bake_packages" {
  type        = bool
  default     = false
  description = "foundation images: install the pinned packages at bake time, unheld (apt upgrades them in place), instead of at first boot."
}
