// confirm, revert and status find the state dir (and status the table) through --config
// "read loosely, so they work even when that file is broken" (otpknockd.md): the
// top-level lines of a file that is no YAML.
import { describe, expect, it } from 'vitest';
import { looseSettingsInText } from './live-target.js';

describe('looseSettingsInText', () => {
  it('reads state_dir and table from a valid config', () => {
    expect(looseSettingsInText('state_dir: /srv/otpknock\ntable: ours\nservices: {}\n')).toEqual({
      stateDir: '/srv/otpknock',
      table: 'ours',
    });
    expect(looseSettingsInText('services: {}\n')).toEqual({});
    expect(looseSettingsInText('state_dir: relative/dir\ntable: "bad name"\n')).toEqual({});
  });

  it('reads the top-level lines of a file that is not valid YAML', () => {
    const broken = (lines: string) => `${lines}\nservices: [\n  ssh: {\n`;
    expect(looseSettingsInText(broken('state_dir: /srv/otpknock\ntable: ours'))).toEqual({
      stateDir: '/srv/otpknock',
      table: 'ours',
    });
    expect(looseSettingsInText(broken('state_dir: "/srv/otp knock"   # quoted'))).toEqual({
      stateDir: '/srv/otp knock',
    });
    expect(looseSettingsInText(broken("state_dir: '/srv/x'"))).toEqual({ stateDir: '/srv/x' });
    expect(looseSettingsInText(broken('  state_dir: /nested'))).toEqual({}); // not top level
    expect(looseSettingsInText(broken('# state_dir: /commented'))).toEqual({});
  });
});
