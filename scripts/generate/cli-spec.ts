// A commander program as plain data: what --help shows of every command (usage,
// descriptions, arguments, options with their defaults and choices, the text added
// after the help). The man pages and the shell completions are made from this, so
// they say what --help says, and a new option or command reaches them by itself.
import type { buildProgram } from '@otpknock/server';

// commander's types, reached through a program (commander is the packages' dependency,
// not the repository's).
type Command = ReturnType<typeof buildProgram>;
type Option = Command['options'][number];
type Argument = Command['registeredArguments'][number];
type Help = ReturnType<Command['createHelp']>;

export interface ValueSpec {
  /** The value's name as the flags write it: `file` of `--config <file>`. */
  name: string;
  /** `<value>` (true) or `[value]` (false). */
  required: boolean;
  /** `<name...>`: several values. */
  variadic: boolean;
}

export interface OptionSpec {
  /** As written: `-t, --timeout <seconds>`. */
  flags: string;
  short?: string;
  long?: string;
  value?: ValueSpec;
  /** As --help shows it, with the choices and the default commander adds. */
  description: string;
  choices?: readonly string[];
  /** Must be given (requiredOption). */
  mandatory: boolean;
  /** The long names of the options it cannot be given with. */
  conflicts: readonly string[];
  /** A default value, as commander shows it (JSON), when there is one. */
  default?: string;
}

export interface ArgumentSpec {
  name: string;
  required: boolean;
  variadic: boolean;
  description: string;
  choices?: readonly string[];
}

export interface CommandSpec {
  name: string;
  aliases: readonly string[];
  /** Names from the program down: ['otpknockd', 'user', 'add']. */
  path: readonly string[];
  /** commander's usage after the names: `[options] <host>`. */
  usage: string;
  /** The one-line summary of the command list (the description when there is none). */
  summary: string;
  description: string;
  arguments: readonly ArgumentSpec[];
  /** The command's own options, --help included (not its parents'). */
  options: readonly OptionSpec[];
  /** Text added after the help (addHelpText('after', …)), without the trailing newline. */
  after: string;
  /** Visible subcommands, in --help order; commander's implicit `help` is left out. */
  commands: readonly CommandSpec[];
  /** The subcommand that runs when the first word is not a command (`knock HOST`). */
  defaultCommand?: string;
  /** commander's implicit `help [command]` is there. */
  hasHelpCommand: boolean;
}

/** commander keeps these private; they are stable across its versions 9–14. */
interface CommandInternals {
  _defaultCommandName: string | null;
  _getHelpCommand(): Command | null;
}

export function describeProgram(program: Command): CommandSpec {
  return describeCommand(program, []);
}

function describeCommand(cmd: Command, parents: readonly string[]): CommandSpec {
  const help = cmd.createHelp();
  const path = [...parents, cmd.name()];
  const internals = cmd as unknown as CommandInternals;
  const helpCommand = internals._getHelpCommand();
  const commands = help.visibleCommands(cmd).filter((c) => c !== helpCommand);
  const spec: CommandSpec = {
    name: cmd.name(),
    aliases: cmd.aliases(),
    path,
    usage: cmd.usage(),
    summary: help.subcommandDescription(cmd),
    description: help.commandDescription(cmd),
    arguments: cmd.registeredArguments.map((a) => describeArgument(help, a)),
    options: help.visibleOptions(cmd).map((o) => describeOption(help, o)),
    after: afterHelpText(cmd),
    commands: commands.map((c) => describeCommand(c, path)),
    hasHelpCommand: helpCommand !== null && commands.length > 0,
  };
  if (internals._defaultCommandName) spec.defaultCommand = internals._defaultCommandName;
  return spec;
}

function describeOption(help: Help, o: Option): OptionSpec {
  const spec: OptionSpec = {
    flags: o.flags,
    description: help.optionDescription(o),
    mandatory: o.mandatory,
    conflicts: [...(o as Option & { conflictsWith: string[] }).conflictsWith],
  };
  if (o.short) spec.short = o.short;
  if (o.long) spec.long = o.long;
  const value = /[<[]([^>\]]+?)(\.\.\.)?[>\]]$/.exec(o.flags);
  if (value) spec.value = { name: value[1]!, required: o.required, variadic: o.variadic };
  if (o.argChoices) spec.choices = [...o.argChoices];
  if (o.defaultValue !== undefined && (o.required || o.optional))
    spec.default = o.defaultValueDescription ?? JSON.stringify(o.defaultValue);
  return spec;
}

function describeArgument(help: Help, a: Argument): ArgumentSpec {
  const spec: ArgumentSpec = {
    name: a.name(),
    required: a.required,
    variadic: a.variadic,
    description: help.argumentDescription(a),
  };
  if (a.argChoices) spec.choices = [...a.argChoices];
  return spec;
}

/** What addHelpText('after', …) prints, caught from the event commander emits. */
function afterHelpText(cmd: Command): string {
  let text = '';
  (cmd as unknown as NodeJS.EventEmitter).emit('afterHelp', {
    error: false,
    command: cmd,
    write: (s: string) => (text += s),
  });
  return text.replace(/\n+$/, '').replace(/^\n+/, '');
}

/** Every command that runs something (has no subcommands), depth first, in --help order. */
export function leafCommands(spec: CommandSpec): CommandSpec[] {
  return spec.commands.flatMap((c) => (c.commands.length === 0 ? [c] : leafCommands(c)));
}

/** Every command with subcommands (the program, `otpknockd user`), depth first. */
export function branchCommands(spec: CommandSpec): CommandSpec[] {
  return spec.commands.length === 0 ? [] : [spec, ...spec.commands.flatMap(branchCommands)];
}

/** All the names an option is given by: ['-t', '--timeout']. */
export function optionNames(o: OptionSpec): string[] {
  return [o.short, o.long].filter((n): n is string => n !== undefined);
}
