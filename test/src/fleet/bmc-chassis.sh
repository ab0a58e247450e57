#!/bin/sh
# ipmi_sim's chassis_control entry: `bmc-chassis.sh DIR get power` answers from the state file at
# once (a BMC reads its power rail, it does not boot a program); `set` goes to bmc-chassis.mjs,
# which powers the fleet host off or on.
dir="$1"
shift
if [ "$1 $2" = "get power" ]; then
  echo "power:$(cat "$dir/power")"
  exit 0
fi
exec "$XSCTL_NODE" "$(dirname "$0")/bmc-chassis.mjs" "$dir/chassis.json" "$@"
