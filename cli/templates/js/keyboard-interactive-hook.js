// {{name}}: a keyboard-interactive-hook, asking the client questions round
// after round on one instance per login. The first round asks for the
// password and lets SFTPGo check it (checkPassword 1): it forwards `OK`
// when it passed.

export const keyboardInteractive = {
  nextRound(round) {
    if (round.step === 1) {
      return {
        tag: 'ask',
        val: { instruction: '', questions: ['Password: '], echos: [false], checkPassword: 1 },
      };
    }
    if (round.answers.length === 1 && round.answers[0] === 'OK') return { tag: 'accept' };
    return { tag: 'deny', val: 'wrong password' };
  },
};
