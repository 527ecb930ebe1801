# Modern Packer (1.7+) loads the builders and provisioners as plugins: `packer init packer/`
# installs these. Debian's Packer 1.6.6 has them built in and rejects this block, so it
# validates and builds a copy of this directory without this file (docs/images.md).
packer {
  required_version = ">= 1.7.0"
  required_plugins {
    qemu = {
      version = ">= 1.1.0"
      source  = "github.com/hashicorp/qemu"
    }
    amazon = {
      version = ">= 1.3.0"
      source  = "github.com/hashicorp/amazon"
    }
    ansible = {
      version = ">= 1.1.0"
      source  = "github.com/hashicorp/ansible"
    }
  }
}
