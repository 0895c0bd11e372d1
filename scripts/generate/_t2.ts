import { readFileSync, writeFileSync } from 'node:fs';
import { buildProgram } from '@otpknock/server';
import { describeProgram } from './cli-spec.js';
import { commandManPage, fileManPage } from './man.js';
const s = describeProgram(buildProgram());
writeFileSync('/tmp/otpknockd.8', commandManPage({ name: 'otpknockd', section: 8, manual: 'System Administration', source: 'otpknock 0.1.0' }, s, readFileSync('docs/otpknockd.md', 'utf8')));
writeFileSync('/tmp/otpknockd.yaml.5', fileManPage({ name: 'otpknockd.yaml', section: 5, manual: 'File Formats', source: 'otpknock 0.1.0' }, { description: 'configuration file of otpknockd', files: ['/etc/otpknock/otpknockd.yaml'], seeAlso: ['otpknockd(8)', 'knock(1)'] }, readFileSync('docs/configuration.md', 'utf8')));
