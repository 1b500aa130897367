// The widget package's TypeScript declarations (static/widget/gesture-reactions.d.ts) against its modules:
// a meeting app's example (tests/types/example.ts) compiles with the repository's tsc, and the exports, the members
// of each class, the options, the error codes, the states and the events' details are the JavaScript's, read from
// the modules themselves (the element under a stand-in HTMLElement, the controller in tests/js/fake-browser.mjs).
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';

import ts from 'typescript';

import {METADATA, RAISE_HAND_METADATA, installFakeBrowser, result} from './fake-browser.mjs';
import {classifierSettings} from '../../static/widget/onnx-metadata.js';
import {FramePipeline} from '../../static/widget/pipeline.js';
import {roiFromLandmarks} from '../../static/widget/landmarks.js';
import {NUM_ANCHORS, NUM_COORDS} from '../../static/widget/palm.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DECLARATIONS = `${ROOT}static/widget/gesture-reactions.d.ts`;
const TSC = `${ROOT}node_modules/typescript/bin/tsc`;
const TIMEOUT = {timeout: 60000};

// gesture-reactions.js defines its element when imported: a stand-in HTMLElement is enough for its class
const browser = installFakeBrowser();
const defined = {};
globalThis.HTMLElement = class HTMLElement extends EventTarget {};
globalThis.customElements = {get: (name) => defined[name], define: (name, element) => { defined[name] = element; }};
const widget = await import('../../static/widget/gesture-reactions.js');
const {ERROR_CODES, GestureController, GestureReactionsElement, GestureReactionsError, TEACHING_CODES, TeachingError} =
  widget;

// the declarations as the compiler reads them (checker: resolved types; statements: as written)
const program = ts.createProgram([DECLARATIONS], {strict: true, noEmit: true, types: [],
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts']});
const checker = program.getTypeChecker();
const declarations = program.getSourceFile(DECLARATIONS);
const exported = new Map(checker.getExportsOfModule(checker.getSymbolAtLocation(declarations))
  .map((symbol) => [symbol.name, symbol]));

function declaredType(name) {
  assert.ok(exported.has(name), `gesture-reactions.d.ts exports no ${name}`);
  return checker.getDeclaredTypeOfSymbol(exported.get(name));
}

/** The property names of a declared interface or type, sorted. */
const keysOf = (type) => checker.getPropertiesOfType(type).map((symbol) => symbol.name).sort();

/** A property's type, e.g. ErrorDetail's `code`. */
const propertyType = (type, name) => checker.getTypeOfSymbol(checker.getPropertyOfType(type, name));

/** The string literals of a union type, sorted; fails on anything wider (string, number). */
function literals(type) {
  const members = type.isUnion() ? type.types : [type];
  for (const member of members) assert.ok(member.isStringLiteral(), `${checker.typeToString(type)}: not literals`);
  return members.map((member) => member.value).sort();
}

/** Whether a declared type admits the JavaScript value's kind (null, number, string, boolean or object). */
function admits(type, value) {
  const kinds = {number: ts.TypeFlags.NumberLike, string: ts.TypeFlags.StringLike, boolean: ts.TypeFlags.BooleanLike,
    object: ts.TypeFlags.Object};
  const flag = value === null ? ts.TypeFlags.Null : kinds[typeof value];
  return (type.isUnion() ? type.types : [type]).some((member) => member.flags & flag);
}

/** A declared class's own members as written: name -> {method, get, set} (readonly: get only), and its statics. */
function declaredClass(name) {
  const node = declarations.statements.find((s) => ts.isClassDeclaration(s) && s.name?.text === name);
  assert.ok(node, `gesture-reactions.d.ts declares no class ${name}`);
  const members = new Map();
  const statics = new Set();
  for (const member of node.members) {
    if (ts.isConstructorDeclaration(member)) continue;
    const flags = ts.getCombinedModifierFlags(member);
    if (flags & ts.ModifierFlags.Static) {
      statics.add(member.name.text);
      continue;
    }
    const kinds = members.get(member.name.text) ?? {method: false, get: false, set: false};
    if (ts.isMethodDeclaration(member)) kinds.method = true;
    if (ts.isGetAccessor(member) || ts.isPropertyDeclaration(member)) kinds.get = true;
    if (ts.isSetAccessor(member) || (ts.isPropertyDeclaration(member) && !(flags & ts.ModifierFlags.Readonly))) {
      kinds.set = true;
    }
    members.set(member.name.text, kinds);
  }
  return {members, statics};
}

/**
 * The class's public members in the JavaScript (its prototype's, and the fields of `instance`) are the declared
 * ones, each a method, a read-only or a settable property alike; the declarations may add only typed overloads of
 * what the base class has (addEventListener).
 */
function assertClassMatches(Class, instance, Base) {
  const {members, statics} = declaredClass(Class.name);
  const prototype = Class.prototype;
  const javascript = new Map();
  for (const name of Object.getOwnPropertyNames(prototype).filter((n) => n !== 'constructor')) {
    const {value, get, set} = Object.getOwnPropertyDescriptor(prototype, name);
    javascript.set(name, {method: typeof value === 'function', get: Boolean(get), set: Boolean(set)});
  }
  for (const name of Object.keys(instance)) javascript.set(name, {method: false, get: true, set: true});
  const overrides = [...members.keys()].filter((name) => !javascript.has(name));
  for (const name of overrides) {
    assert.ok(name in Base.prototype, `${Class.name}.${name} is declared but not in the JavaScript`);
  }
  assert.deepEqual([...javascript.keys()].filter((name) => !members.has(name)), [],
    `${Class.name}: members missing from gesture-reactions.d.ts`);
  for (const [name, kinds] of javascript) {
    assert.deepEqual(members.get(name), kinds, `${Class.name}.${name}: declared as another kind`);
  }
  const ownStatics = Object.getOwnPropertyNames(Class).filter((n) => !['length', 'name', 'prototype'].includes(n));
  assert.deepEqual([...statics].sort(), ownStatics.sort(), `${Class.name}: static members`);
}

/** String literals that `pattern`'s first group matches in static/widget/`files`. */
function literalsIn(pattern, ...files) {
  const found = files.flatMap((file) => [...readFileSync(`${ROOT}static/widget/${file}`, 'utf8').matchAll(pattern)]);
  return [...new Set(found.map((match) => match[1]))].sort();
}

test('tests/types/example.ts compiles (strict) against the declarations, and its expected errors are errors',
  TIMEOUT, () => {
    const tsc = spawnSync(process.execPath, [TSC, '--noEmit', '-p', 'tests/types'], {cwd: ROOT, encoding: 'utf8'});
    assert.equal(tsc.error, undefined, `${TSC} did not run: npm ci installs it`);
    assert.equal(tsc.status, 0, `tsc --noEmit -p tests/types:\n${tsc.stdout}${tsc.stderr}`);
  });

test('the declarations are the package\'s types and declare what gesture-reactions.js exports', () => {
  const manifest = JSON.parse(readFileSync(`${ROOT}static/widget/package.json`, 'utf8'));
  assert.equal(manifest.types, './gesture-reactions.d.ts');
  assert.equal(manifest.exports['.'].types, manifest.types);
  const values = [...exported.values()].filter((symbol) => symbol.flags & ts.SymbolFlags.Value);
  assert.deepEqual(values.map((symbol) => symbol.name).sort(), Object.keys(widget).sort());
});

test('<gesture-reactions> in HTMLElementTagNameMap is the element the module defines', () => {
  const tagNames = checker.getDeclaredTypeOfSymbol(checker.resolveName('HTMLElementTagNameMap', undefined,
    ts.SymbolFlags.Type, false));
  const tag = Object.keys(defined);
  assert.deepEqual(tag, ['gesture-reactions']);
  assert.equal(defined[tag[0]], GestureReactionsElement);
  assert.equal(checker.typeToString(propertyType(tagNames, tag[0])), 'GestureReactionsElement');
});

test('GestureReactionsElement: every property and method, and each observed attribute\'s property', () => {
  assertClassMatches(GestureReactionsElement, {}, HTMLElement);
  const {members} = declaredClass('GestureReactionsElement');
  for (const attribute of GestureReactionsElement.observedAttributes) {
    const property = attribute.replace(/-(\w)/g, (_, letter) => letter.toUpperCase());
    assert.deepEqual(members.get(property), {method: false, get: true, set: true}, `attribute ${attribute}`);
  }
});

test('the element\'s options: the ones `options` reads and setOptions() takes, each a settable property', () => {
  // `options` reads each option off the element: a stand-in element that answers with the name lists them
  const {get} = Object.getOwnPropertyDescriptor(GestureReactionsElement.prototype, 'options');
  const names = Object.keys(get.call(new Proxy({}, {get: (_, name) => name}))).sort();
  assert.deepEqual(keysOf(declaredType('GestureReactionsOptions')), names);
  assert.deepEqual(keysOf(declaredType('GestureReactionsOptionsInit')), names);
  const set = {};
  GestureReactionsElement.prototype.setOptions.call(set, Object.fromEntries(names.map((name) => [name, null])));
  assert.deepEqual(Object.keys(set).sort(), names);
  assert.throws(() => GestureReactionsElement.prototype.setOptions.call({}, {treshold: 1}), TypeError);
  const {members} = declaredClass('GestureReactionsElement');
  for (const name of names) assert.equal(members.get(name)?.set, true, name);
});

test('GestureController: every member, and its options, typed as they read before and after the classifier\'s '
  + 'defaults are known; the element\'s read the same', TIMEOUT, async () => {
  browser.reset();
  const controller = new GestureController({assetBase: 'http://page.test/static/'});
  assertClassMatches(GestureController, controller, EventTarget);
  const names = Object.keys(controller.options).sort();
  const options = declaredType('GestureControllerOptions');
  assert.deepEqual(keysOf(options), names);
  assert.deepEqual(keysOf(declaredType('GestureControllerOptionsInit')), names);
  assert.deepEqual(keysOf(declaredType('GestureControllerInit')), [...names, 'video'].sort());
  const before = controller.options;
  assert.ok(await controller.loadSettings());
  const after = controller.options;
  for (const name of names) {
    for (const value of [before[name], after[name]]) {
      assert.ok(admits(propertyType(options, name), value), `GestureControllerOptions.${name}: ${value}`);
    }
  }
  controller.setOptions(Object.fromEntries(names.map((name) => [name, null])));
  controller.close();
  // the element's options are the controller's, read through
  const element = declaredType('GestureReactionsElement');
  for (const name of names) {
    const type = checker.typeToString(propertyType(options, name));
    assert.equal(checker.typeToString(propertyType(declaredType('GestureReactionsOptions'), name)), type, name);
    assert.equal(checker.typeToString(propertyType(element, name)), type, name);
  }
});

test('GestureReactionsError: code and state; the codes are ERROR_CODES, which name every failure the modules have',
  () => {
    assertClassMatches(GestureReactionsError, new GestureReactionsError('closed', 'off', 'closed'), Error);
    const codes = [...ERROR_CODES].sort();
    assert.equal(new Set(codes).size, codes.length);
    assert.deepEqual(literals(declaredType('GestureReactionsErrorCode')), codes);
    const errorType = declaredType('GestureReactionsError');
    assert.deepEqual(literals(propertyType(errorType, 'code')), codes);
    // the `error` event's codes: those of #fail() and of a camera's failure; the rest are start()'s own
    const failures = [...literalsIn(/#fail\('[a-z-]+', '([a-z-]+)'/g, 'gesture-controller.js'),
      ...literalsIn(/\bcode: '([a-z-]+)'/g, 'camera.js')];
    const rejections = literalsIn(/new GestureReactionsError\('([a-z-]+)'/g, 'gesture-controller.js',
      'gesture-reactions.js');
    const errorDetail = literals(propertyType(declaredType('ErrorDetail'), 'code'));
    assert.deepEqual(errorDetail, [...new Set(failures)].sort());
    assert.deepEqual([...new Set([...errorDetail, ...rejections])].sort(), codes);
  });

test('TeachingError: its codes are TEACHING_CODES, every refusal of learnGesture() in the controller and the module',
  () => {
  assertClassMatches(TeachingError, new TeachingError('busy', 'busy'), Error);
  const codes = [...TEACHING_CODES].sort();
  assert.deepEqual(literals(propertyType(declaredType('TeachingError'), 'code')), codes);
  assert.deepEqual(literals(declaredType('TeachingErrorCode')), codes);
  const refusals = literalsIn(/new TeachingError\('([a-z-]+)'/g, 'gesture-controller.js', 'custom-gestures.js');
  assert.deepEqual([...new Set(refusals)].sort(), codes);
});

test('GestureReactionsState: every state the controller sets or fails into', () => {
  const states = literals(declaredType('GestureReactionsState'));
  const javascript = [...new Set([
    ...literalsIn(/#(?:setState|fail)\('([a-z-]+)'/g, 'gesture-controller.js'),
    ...literalsIn(/\bstate: '([a-z-]+)'/g, 'camera.js'),
  ])].sort();
  assert.deepEqual(states, javascript);
  for (const type of ['GestureReactionsElement', 'GestureController', 'GestureReactionsError', 'StateChangeDetail',
    'ErrorDetail']) {
    assert.equal(checker.typeToString(propertyType(declaredType(type), 'state')), 'GestureReactionsState', type);
  }
});

test('the events\' details: the keys the controller sends, and the events the element and the controller type',
  TIMEOUT, async () => {
    browser.reset();
    browser.metadata = RAISE_HAND_METADATA;
    let shown = 'like';
    browser.worker.answer = () => result(shown);
    const controller = new GestureController({assetBase: 'http://page.test/static/'});
    const details = {};
    for (const type of ['reaction', 'gesture', 'statechange', 'error', 'hold', 'settings', 'raise-hand',
      'lower-hand', 'learning']) {
      controller.addEventListener(type, ({detail}) => { details[type] ??= detail; });
    }
    const reaction = new Promise((resolve) => controller.addEventListener('reaction', resolve, {once: true}));
    const raised = new Promise((resolve) => controller.addEventListener('raise-hand', resolve, {once: true}));
    await controller.start();
    await reaction;
    await controller.learnGesture('wave', {seconds: 0.02}).catch(() => {}); // refused: it is a thumbs up
    shown = 'raise_hand';
    await raised;
    controller.stop(); // lowers the hand
    browser.camera.error = Object.assign(new Error('blocked'), {name: 'NotAllowedError'});
    await controller.start().catch(() => {});
    controller.close();

    const detailTypes = {reaction: 'ReactionDetail', gesture: 'GestureDetail', statechange: 'StateChangeDetail',
      error: 'ErrorDetail', hold: 'HoldDetail', settings: 'ClassifierSettings', 'raise-hand': 'RaisedHandDetail',
      'lower-hand': 'RaisedHandDetail', learning: 'LearningDetail'};
    for (const [type, name] of Object.entries(detailTypes)) {
      assert.deepEqual(keysOf(declaredType(name)), Object.keys(details[type]).sort(), `${type}: ${name}`);
    }
    const settings = declaredType('ClassifierSettings');
    for (const part of ['pipeline', 'reactions', 'raiseHand']) {
      assert.deepEqual(keysOf(checker.getNonNullableType(propertyType(settings, part))),
        Object.keys(details.settings[part]).sort(), part);
    }
    const events = keysOf(declaredType('GestureReactionsEvents'));
    assert.deepEqual(events, ['error', 'gesture', 'learning', 'lower-hand', 'raise-hand', 'reaction', 'statechange']);
    const elementEvents = declaredType('GestureReactionsEventMap');
    const controllerEvents = declaredType('GestureControllerEventMap');
    assert.deepEqual(keysOf(controllerEvents), Object.keys(detailTypes).sort());
    for (const type of Object.keys(detailTypes)) {
      const map = events.includes(type) ? [elementEvents, controllerEvents] : [controllerEvents];
      for (const eventMap of map) {
        assert.equal(checker.typeToString(propertyType(eventMap, type)), `CustomEvent<${detailTypes[type]}>`, type);
      }
    }
    assert.equal(checker.typeToString(propertyType(elementEvents, 'keydown')), 'KeyboardEvent'); // HTMLElement's stay
  });

test('a frame\'s detail: its hands, regions and timings as the worker\'s pipeline makes them', TIMEOUT, async () => {
  const landmarks = {inputSize: 224, palm: {scale: 2.6, shift: -0.5}, landmarks: {scale: 2, shift: -0.1}};
  const classifier = classifierSettings(METADATA);
  const pipeline = new FramePipeline({classifier, landmarks}, {
    detectPalms: async () => ({regressors: new Float32Array(NUM_ANCHORS * NUM_COORDS),
      scores: new Float32Array(NUM_ANCHORS).fill(-10)}),
    markHand: async () => ({landmarks: new Float32Array(63), presence: 0}),
    classify: async (input, count) => new Float32Array(count * classifier.labels.length).fill(0.25),
  });
  const [width, height] = [64, 48];
  const frame = await pipeline.process(new Uint8ClampedArray(width * height * 4), width, height);
  const points = Array.from({length: 21}, (_, i) => [10 + i, 8 + i, 0]);
  const region = roiFromLandmarks(points, landmarks);
  const [hand] = await pipeline.hands(new Uint8ClampedArray(width * height * 4), width, height,
    [{landmarks: points, presence: 0.9, region, index: 0}]);
  const gestureDetail = declaredType('GestureDetail');
  const handType = declaredType('Hand');
  assert.deepEqual(keysOf(handType), Object.keys(hand).sort());
  assert.deepEqual(keysOf(declaredType('HandRegion')), Object.keys(region).sort());
  assert.equal(checker.typeToString(propertyType(gestureDetail, 'hands')), 'Hand[]');
  assert.equal(checker.typeToString(propertyType(gestureDetail, 'regions')), 'HandRegion[]');
  assert.equal(hand.box.length, 4);
  // the worker adds the frame's total time (gesture-worker.js)
  assert.deepEqual(keysOf(propertyType(gestureDetail, 'timings')), [...Object.keys(frame.timings), 'total'].sort());
  assert.deepEqual(Object.keys(frame).filter((key) => !keysOf(gestureDetail).includes(key)), []);
});
