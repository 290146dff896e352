"""{{name}}: a keyboard-interactive-hook, asking the client questions round
after round on one instance per login.

The first round asks for the password and lets SFTPGo check it
(check_password 1): it forwards `OK` when it passed. The types:
wit/login.wit.
"""

from wit_world import exports
from wit_world.exports import keyboard_interactive as ki


class KeyboardInteractive(exports.KeyboardInteractive):
    def next_round(self, round: ki.Round) -> ki.RoundAnswer:
        if round.step == 1:
            return ki.RoundAnswer_Ask(ki.Challenge(
                instruction="", questions=["Password: "], echos=[False], check_password=1))
        if round.answers == ["OK"]:
            return ki.RoundAnswer_Accept()
        return ki.RoundAnswer_Deny("wrong password")
