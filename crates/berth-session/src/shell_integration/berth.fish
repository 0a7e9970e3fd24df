# berth shell integration for fish: OSC 133 marks around prompts and
# commands, as VS Code, WezTerm and kitty read them. berth-session starts
# fish with `-C 'source <this file>'`, which fish runs after your own
# config.fish and conf.d: nothing of yours is changed.

# C: the command runs, its output starts.
function __berth_preexec --on-event fish_preexec
    printf '\e]133;C\a'
end
# The command's status, for D at the next prompt (fish_postexec fires only
# after a command ran; a prompt after an empty line gets no D).
function __berth_postexec --on-event fish_postexec
    set -g __berth_status $status
end
# D (how the last command ended), then A: the prompt starts.
function __berth_prompt_start --on-event fish_prompt
    if set -q __berth_status
        printf '\e]133;D;%s\a' $__berth_status
        set -e __berth_status
    end
    printf '\e]133;A\a'
end
# B ends the prompt: your prompt (or fish's own), then the mark.
if functions -q fish_prompt
    functions -c fish_prompt __berth_user_prompt
else
    function __berth_user_prompt
        printf '> '
    end
end
function fish_prompt
    __berth_user_prompt
    printf '\e]133;B\a'
end
