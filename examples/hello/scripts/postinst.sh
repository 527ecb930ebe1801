#!/bin/sh
set -e
if [ "$1" = configure ]; then
	touch /var/log/hello-debpkg.log
fi
