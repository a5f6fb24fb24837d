# Runs a bash completion function the way readline would, for test/unit/completion-man.test.ts.
# usage: bash --norc complete-bash.sh SCRIPT FUNCTION WORD... (the last word is the one being completed)
set -u
source "$1"
fn=$2
shift 2
COMP_WORDS=("$@")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
"$fn"
printf '%s\n' "${COMPREPLY[@]}"
