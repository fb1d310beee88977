import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileTransform, TransformError, TransformErrorCode, type TransformContext } from "./transform.js";

/** The example Amazon EC2 event of the user guide's "Input transform examples". */
const EC2_EVENT = `{
  "version": "0",
  "id": "7bf73129-1428-4cd3-a780-95db273d1602",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "123456789012",
  "time": "2015-11-11T21:29:54Z",
  "region": "us-east-1",
  "resources": [
    "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"
  ],
  "detail": {
    "instance-id": "i-0123456789",
    "state": "RUNNING"
  }
}`;

/** The user guide's Input Path for that event. */
const EC2_PATHS = {
  timestamp: "$.time",
  instance: "$.detail.instance-id",
  state: "$.detail.state",
};

/** The rule of the user guide's reserved-variable examples. */
const CTX: TransformContext = {
  ruleArn: "arn:aws:events:us-east-2:123456789012:rule/example",
  ruleName: "example",
  ingestedAt: Date.parse("2015-11-11T21:29:55.250Z"),
};

/** An event as PutEvents writes it: compact envelope, detail as the producer sent it. */
const EVENT = `{"version":"0","id":"e-1","detail-type":"Order Placed","source":"shop","account":"000000000000","time":"2024-01-02T03:04:05Z","region":"us-east-1","resources":["arn:a","arn:b"],"detail":{
  "str": "plain",
  "quote": "say \\"hi\\"",
  "backslash": "C:\\\\temp",
  "newline": "line1\\nline2\\ttab",
  "unicode": "café ☕ \\u00e9 \\ud83d\\ude00",
  "separator": "a\\u2028b",
  "html": "</script><b>",
  "int": 42,
  "decimal": 10.50,
  "big": 12345678901234567890,
  "exp": -1.5e+3,
  "yes": true,
  "no": false,
  "nothing": null,
  "empty": "",
  "obj": { "a": 1, "b": [ "x", { "c": "d e" } ] },
  "arr": [ 1, "two", null, { "k": "v" } ],
  "items": [ { "id": "i1", "qty": 1 }, { "id": "i2", "qty": 2 } ],
  "dup": 1,
  "dup": 2,
  "a\\u002db": "escaped key",
  "a.b": "dotted key"
}}`;

function transformer(paths: Record<string, string>, template: string): Record<string, unknown> {
  return { InputTransformer: { InputPathsMap: paths, InputTemplate: template } };
}

function run(spec: Record<string, unknown>, event = EVENT, ctx = CTX): string {
  return compileTransform(spec)(event, ctx);
}

/** Asserts that `f` throws a TransformError with this code (and field, when given). */
function assertTransformError(f: () => unknown, code: string, field?: string | RegExp): TransformError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof TransformError, `expected a TransformError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.equal(caught.name, "TransformError");
  assert.equal(caught.retryable, false);
  if (typeof field === "string") assert.equal(caught.field, field);
  else if (field !== undefined) assert.match(caught.field, field);
  return caught;
}

/** The documented pretty-printed JSON output, minified as EventBridge passes it to the target. */
const minified = (documented: string): string => JSON.stringify(JSON.parse(documented));

describe("compileTransform", () => {
  describe("without Input, InputPath or InputTransformer", () => {
    it("passes the very event string, unparsed", () => {
      const transform = compileTransform({ Id: "t", Arn: "arn:aws:sqs:us-east-1:000000000000:q" });
      assert.equal(transform(EVENT, CTX), EVENT);
      assert.equal(transform(EC2_EVENT, CTX), EC2_EVENT);
      // Not even parsed: text that is not JSON comes back untouched.
      assert.equal(transform("not json {", CTX), "not json {");
    });

    it("treats null fields as absent", () => {
      assert.equal(run({ Input: null, InputPath: null, InputTransformer: null }), EVENT);
    });
  });

  describe("Input", () => {
    it("passes the JSON text as given", () => {
      for (const input of ['{"fixed": true}', '"a string"', "42", "[1, 2,\n 3]", "null"]) {
        assert.equal(run({ Input: input }), input);
      }
    });

    it("rejects Input that is not JSON", () => {
      assertTransformError(() => compileTransform({ Input: "{nope" }), "INVALID_TRANSFORMATION", "Input");
      assertTransformError(() => compileTransform({ Input: 42 }), "INVALID_TRANSFORMATION", "Input");
    });
  });

  describe("InputPath", () => {
    const cases: Array<[path: string, expected: string]> = [
      ["$", JSON.stringify(JSON.parse(EC2_EVENT))],
      ["$.detail", '{"instance-id":"i-0123456789","state":"RUNNING"}'],
      ["$.detail.state", '"RUNNING"'],
      ["$.detail.instance-id", '"i-0123456789"'],
      ["$.resources", '["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"]'],
      ["$.resources[0]", '"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"'],
      ["$.resources[-1]", '"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"'],
      ["$.resources[*]", '["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"]'],
      ["$.detail.*", '["i-0123456789","RUNNING"]'],
      ["$['detail']['instance-id']", '"i-0123456789"'],
      ['$["detail"].state', '"RUNNING"'],
      ["$.detail.missing[*]", "[]"],
    ];
    for (const [path, expected] of cases) {
      it(`selects ${path} as minified JSON`, () => {
        assert.equal(run({ InputPath: path }, EC2_EVENT), expected);
      });
    }

    it("keeps numbers exactly as the producer wrote them", () => {
      assert.equal(run({ InputPath: "$.detail.decimal" }), "10.50");
      assert.equal(run({ InputPath: "$.detail.big" }), "12345678901234567890");
      assert.equal(run({ InputPath: "$.detail.exp" }), "-1.5e+3");
    });

    it("selects booleans, null, nested objects and array elements", () => {
      assert.equal(run({ InputPath: "$.detail.yes" }), "true");
      assert.equal(run({ InputPath: "$.detail.nothing" }), "null");
      assert.equal(run({ InputPath: "$.detail.obj" }), '{"a":1,"b":["x",{"c":"d e"}]}');
      assert.equal(run({ InputPath: "$.detail.obj.b[1].c" }), '"d e"');
      assert.equal(run({ InputPath: "$.detail.items[*].id" }), '["i1","i2"]');
      assert.equal(run({ InputPath: "$.detail.arr[3]" }), '{"k":"v"}');
    });

    it("reads keys as JSON does: escapes decoded, the last of repeated keys", () => {
      assert.equal(run({ InputPath: "$.detail.a-b" }), '"escaped key"');
      assert.equal(run({ InputPath: "$.detail['a.b']" }), '"dotted key"');
      assert.equal(run({ InputPath: "$.detail.dup" }), "2");
    });

    it("matches what EventBridge delivered to SQS (recorded by LocalStack)", () => {
      const event = JSON.stringify({
        version: "0",
        id: "x",
        "detail-type": "core.update-account-command",
        source: "core.update-account-command",
        account: "111111111111",
        time: "2024-05-13T12:27:07Z",
        region: "us-east-1",
        resources: [],
        detail: { command: "update-account", payload: { acc_id: "0a787ecb-4015", sf_id: "baz" } },
      });
      assert.equal(run({ InputPath: "$.detail.payload.sf_id" }, event), '"baz"');
      assert.equal(run({ InputPath: "$.detail.payload" }, event), '{"acc_id":"0a787ecb-4015","sf_id":"baz"}');
    });

    it("dead-letters an event in which the path selects nothing", () => {
      for (const path of ["$.detail.missing", "$.resources[5]", "$.detail.str.deeper", "$.detail[0]"]) {
        const e = assertTransformError(() => run({ InputPath: path }), "INPUT_PATH_NOT_FOUND", "InputPath");
        assert.match(e.message, /selects nothing/);
      }
    });

    it("rejects paths outside the supported syntax when compiling", () => {
      for (const path of [
        "detail",
        "",
        "$.",
        "$..detail",
        "$.detail[",
        "$.a[x]",
        "$[0:2]",
        "$.a b",
        "$detail",
      ]) {
        assertTransformError(
          () => compileTransform({ InputPath: path }),
          "INVALID_TRANSFORMATION",
          "InputPath",
        );
      }
    });
  });

  describe("InputTransformer: the user guide's examples", () => {
    // Description, Template and Output exactly as in the table of the user guide (eb-transform-target-input).
    const examples: Array<[description: string, template: string, output: string]> = [
      ["Simple string", `"instance <instance> is in <state>"`, `"instance i-0123456789 is in RUNNING"`],
      [
        "String with escaped quotes",
        `"instance \\"<instance>\\" is in <state>"`,
        `"instance \\"i-0123456789\\" is in RUNNING"`,
      ],
      [
        "Simple JSON",
        `{
  "instance" : <instance>,
  "state": <state>
}`,
        minified(`{
  "instance" : "i-0123456789",
  "state": "RUNNING"
}`),
      ],
      [
        "JSON with strings and variables",
        `{
 "instance" : <instance>,
 "state": "<state>",
 "instanceStatus": "instance \\"<instance>\\" is in <state>"
}`,
        minified(`{
 "instance" : "i-0123456789",
 "state": "RUNNING",
 "instanceStatus": "instance \\"i-0123456789\\" is in RUNNING"
}`),
      ],
      [
        "JSON with a mix of variables and static information",
        `{
  "instance" : <instance>,
  "state": [ 9, <state>, true ],
  "Transformed" : "Yes"
}
`,
        minified(`{
  "instance" : "i-0123456789",
  "state": [
    9,
    "RUNNING",
    true
  ],
  "Transformed" : "Yes"
}`),
      ],
      [
        "Including reserved variables in a string",
        `"<aws.events.rule-name> triggered"`,
        `"example triggered"`,
      ],
    ];
    for (const [description, template, output] of examples) {
      it(description, () => {
        assert.equal(run(transformer(EC2_PATHS, template), EC2_EVENT), output);
      });
    }

    it("String with escaped quotes, as the AWS CLI delivers the template (without the backslashes)", () => {
      const template = `"instance "<instance>" is in <state>"`;
      assert.equal(
        run(transformer(EC2_PATHS, template), EC2_EVENT),
        `"instance "i-0123456789" is in RUNNING"`,
      );
    });

    for (const variable of ["aws.events.event", "aws.events.event.json"]) {
      it(`Including reserved variables in JSON (originalEvent as <${variable}>)`, () => {
        const template = `{
  "instance" : <instance>,
  "state": <state>,
  "ruleArn" : <aws.events.rule-arn>,
  "ruleName" : <aws.events.rule-name>,
  "originalEvent" : <${variable}>
}`;
        const out = JSON.parse(run(transformer(EC2_PATHS, template), EC2_EVENT)) as Record<string, unknown>;
        assert.deepEqual(Object.keys(out), ["instance", "state", "ruleArn", "ruleName", "originalEvent"]);
        assert.equal(out.instance, "i-0123456789");
        assert.equal(out.state, "RUNNING");
        assert.equal(out.ruleArn, "arn:aws:events:us-east-2:123456789012:rule/example");
        assert.equal(out.ruleName, "example");
        assert.equal(typeof out.originalEvent, "object");
      });
    }

    it("Amazon CloudWatch log group: the timestamp and message the log event is made of", () => {
      // The guide shows the log entry (`"timestamp" : 2015-11-11T21:29:54Z, "message": "instance
      // "i-0123456789" is in RUNNING`); the payload carrying it is this JSON.
      const template = `{
  "timestamp" : <timestamp>,
  "message": "instance \\"<instance>\\" is in <state>"
}`;
      const out = run(transformer(EC2_PATHS, template), EC2_EVENT);
      assert.equal(
        out,
        '{"timestamp":"2015-11-11T21:29:54Z","message":"instance \\"i-0123456789\\" is in RUNNING"}',
      );
      assert.deepEqual(JSON.parse(out), {
        timestamp: "2015-11-11T21:29:54Z",
        message: 'instance "i-0123456789" is in RUNNING',
      });
    });

    it("the tutorial's SNS message", () => {
      const event =
        '{"version":"0","id":"1","detail-type":"customerCreated","source":"TestEvent","detail":{}}';
      const spec = transformer({ "detail-type": "$.detail-type" }, `"This event was of <detail-type> type."`);
      assert.equal(run(spec, event), `"This event was of customerCreated type."`);
    });

    describe("the API reference's InputTransformer examples", () => {
      const paths = { instance: "$.detail.instance", status: "$.detail.status" };
      const event = '{"detail":{"instance":"i-1","status":"running"}}';
      const examples: Array<[template: string, output: string]> = [
        ["<instance> is in state <status>", "i-1 is in state running"],
        ['<instance> is in state "<status>"', 'i-1 is in state "running"'],
        [
          '{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<status>\\""}',
          '{"myInstance":"i-1","myStatus":"i-1 is in state \\"running\\""}',
        ],
      ];
      for (const [template, output] of examples) {
        it(template, () => assert.equal(run(transformer(paths, template), event), output));
      }
    });
  });

  describe("InputTransformer: behaviour EventBridge showed (recorded by LocalStack against AWS)", () => {
    const event = JSON.stringify({
      version: "0",
      id: "x",
      "detail-type": "core.update-account-command",
      source: "core.update-account-command",
      account: "111111111111",
      time: "date",
      region: "us-east-1",
      resources: [],
      detail: { command: "update-account", payload: { acc_id: "0a787ecb-4015", sf_id: "baz" } },
    });
    const matchAll = { "detail-type": "$.detail-type", timestamp: "$.time", command: "$.detail.command" };
    const missing = { ...matchAll, command: "$.detail.notinmessage" };
    const string = '"Event of <detail-type> type, at time <timestamp>, info extracted from detail <command>"';
    const json = '{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}';

    it("fills a string template", () => {
      assert.equal(
        run(transformer(matchAll, string), event),
        '"Event of core.update-account-command type, at time date, info extracted from detail update-account"',
      );
    });

    it("leaves a variable whose path selects nothing empty in a string template", () => {
      assert.equal(
        run(transformer(missing, string), event),
        '"Event of core.update-account-command type, at time date, info extracted from detail "',
      );
    });

    it("makes such a variable an empty string in a JSON template", () => {
      assert.equal(
        run(transformer(matchAll, json), event),
        '{"detailType":"core.update-account-command","time":"date","command":"update-account"}',
      );
      assert.equal(
        run(transformer(missing, json), event),
        '{"detailType":"core.update-account-command","time":"date","command":""}',
      );
    });

    it("keeps a string template that starts with JSON-like characters", () => {
      const template = '"{[/Check with special starting characters for event of <detail-type> type"';
      assert.equal(
        run(transformer(matchAll, template), event),
        '"{[/Check with special starting characters for event of core.update-account-command type"',
      );
    });

    it("gives <aws.events.event> without detail, with detailType, and <aws.events.event.json> whole", () => {
      const template = '{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>}';
      const out = run({ InputTransformer: { InputTemplate: template } }, event);
      assert.equal(
        out,
        '{"originalEvent":{"id":"x","account":"111111111111","detailType":"core.update-account-command",' +
          '"time":"date","source":"core.update-account-command","region":"us-east-1","resources":[],"version":"0"},' +
          `"originalEventJson":${event}}`,
      );
    });

    it("fills the predefined variables in a string template", () => {
      const template =
        '"Message containing all pre defined variables <aws.events.rule-arn> <aws.events.rule-name> <aws.events.event.ingestion-time>"';
      assert.equal(
        run({ InputTransformer: { InputTemplate: template } }, event),
        '"Message containing all pre defined variables arn:aws:events:us-east-2:123456789012:rule/example example 2015-11-11T21:29:55Z"',
      );
    });

    it("rejects a template with an undefined variable", () => {
      const e = assertTransformError(
        () =>
          compileTransform(
            transformer(matchAll, '"Event of <detail-type> type, with not defined key <notdefinedkey>"'),
          ),
        "INVALID_TRANSFORMATION",
        "InputTransformer.InputTemplate",
      );
      assert.equal(e.message, "InputTemplate contains invalid placeholder notdefinedkey.");
    });
  });

  describe("InputTransformer: quoting", () => {
    const paths = {
      str: "$.detail.str",
      int: "$.detail.int",
      decimal: "$.detail.decimal",
      big: "$.detail.big",
      yes: "$.detail.yes",
      no: "$.detail.no",
      nothing: "$.detail.nothing",
      empty: "$.detail.empty",
      obj: "$.detail.obj",
      arr: "$.detail.arr",
      missing: "$.detail.missing",
    };
    // variable, as a JSON value, inside a JSON string, in a text template
    const cases: Array<[variable: string, value: string, inString: string, inText: string]> = [
      ["str", '"plain"', "plain", "plain"],
      ["int", "42", "42", "42"],
      ["decimal", "10.50", "10.50", "10.50"],
      ["big", "12345678901234567890", "12345678901234567890", "12345678901234567890"],
      ["yes", "true", "true", "true"],
      ["no", "false", "false", "false"],
      ["nothing", "null", "null", "null"],
      ["empty", '""', "", ""],
      [
        "obj",
        '{"a":1,"b":["x",{"c":"d e"}]}',
        // EventBridge "removes any internal quotes to ensure a valid string"
        "{a:1,b:[x,{c:d e}]}",
        '{"a":1,"b":["x",{"c":"d e"}]}',
      ],
      ["arr", '[1,"two",null,{"k":"v"}]', "[1,two,null,{k:v}]", '[1,"two",null,{"k":"v"}]'],
      ["missing", '""', "", ""],
    ];
    for (const [variable, value, inString, inText] of cases) {
      it(`inserts ${variable} as a JSON value, as string content, and as text`, () => {
        assert.equal(run(transformer(paths, `{"v": <${variable}>}`)), `{"v":${value}}`);
        assert.equal(run(transformer(paths, `[<${variable}>]`)), `[${value}]`);
        assert.equal(run(transformer(paths, `{"v": "(<${variable}>)"}`)), `{"v":"(${inString})"}`);
        assert.equal(run(transformer(paths, `"(<${variable}>)"`)), `"(${inString})"`);
        assert.equal(run(transformer(paths, `v=(<${variable}>)`)), `v=(${inText})`);
        // The JSON forms are valid JSON.
        JSON.parse(run(transformer(paths, `{"v": <${variable}>, "s": "(<${variable}>)"}`)));
      });
    }

    it("uses a variable several times and in several modes", () => {
      assert.equal(
        run(transformer(paths, '{"a": <str>, "b": "<str>-<str>", "c": [<str>, <int>]}')),
        '{"a":"plain","b":"plain-plain","c":["plain",42]}',
      );
    });

    it("minifies JSON templates but keeps whitespace inside their strings", () => {
      assert.equal(
        run(transformer(paths, '\n  {\n\t"a  b" :\r\n [ <int> ,  " x  <str>  " ]\n}\n')),
        '{"a  b":[42," x  plain  "]}',
      );
    });

    it("reads a template starting with [ as text unless it is JSON", () => {
      assert.equal(run(transformer(paths, "[ALERT] <str>: <int>")), "[ALERT] plain: 42");
      assert.equal(run(transformer(paths, "[<str> <int>]")), "[plain 42]");
      assert.equal(run(transformer(paths, "[ <str> , <int> ]")), '["plain",42]');
    });

    it("keeps text templates as written, whitespace included", () => {
      assert.equal(run(transformer(paths, "  <str>\n\t<int>  ")), "  plain\n\t42  ");
    });

    it("leaves < and > that enclose no variable name as text", () => {
      assert.equal(run(transformer(paths, "a < b > c, <> and <str>")), "a < b > c, <> and plain");
      assert.equal(run(transformer(paths, '{"cmp": "1 < 2 > 0", "v": <int>}')), '{"cmp":"1 < 2 > 0","v":42}');
    });
  });

  describe("InputTransformer: escaping", () => {
    const paths = {
      quote: "$.detail.quote",
      backslash: "$.detail.backslash",
      newline: "$.detail.newline",
      unicode: "$.detail.unicode",
      separator: "$.detail.separator",
      html: "$.detail.html",
    };
    const decoded = JSON.parse(EVENT) as { detail: Record<string, string> };

    for (const variable of Object.keys(paths)) {
      it(`keeps ${variable} intact in every mode`, () => {
        const value = decoded.detail[variable]!;
        const json = run(transformer(paths, `{"v": <${variable}>, "s": "[<${variable}>]"}`));
        assert.deepEqual(JSON.parse(json), { v: value, s: `[${value}]` });
        assert.equal(JSON.parse(run(transformer(paths, `"[<${variable}>]"`))), `[${value}]`);
        assert.equal(run(transformer(paths, `[<${variable}>]!`)), `[${value}]!`);
        assert.equal(run(transformer(paths, `v=<${variable}>`)), `v=${value}`);
      });
    }

    it("inserts string values with the escaping the event gave them", () => {
      assert.equal(run(transformer(paths, '{"q": <quote>}')), '{"q":"say \\"hi\\""}');
      assert.equal(run(transformer(paths, '{"q": "<quote>"}')), '{"q":"say \\"hi\\""}');
      assert.equal(run(transformer(paths, "q=<quote> b=<backslash>")), 'q=say "hi" b=C:\\temp');
    });

    it("takes the quotes off objects inserted inside a JSON string, and escapes what their strings hold", () => {
      const event = '{"detail":{"o":{"s":"a\\"b\\\\c","k\\u0022":["x\\ny",1]}}}';
      const out = run(transformer({ o: "$.detail.o" }, '{"text": "o=<o>"}'), event);
      assert.deepEqual(JSON.parse(out), { text: 'o={s:a"b\\c,k":[x\ny,1]}' });
      assert.equal(
        JSON.parse(run(transformer({ o: "$.detail.o" }, '"o=<o>"'), event)),
        'o={s:a"b\\c,k":[x\ny,1]}',
      );
      // An object of no strings keeps its text; an empty string member leaves nothing.
      const plain = '{"detail":{"o":{"":[true,null,-1.5e3,""]}}}';
      assert.equal(run(transformer({ o: "$.detail.o" }, '"<o>"'), plain), '"{:[true,null,-1.5e3,]}"');
    });
  });

  describe("InputTransformer: paths", () => {
    it("selects array elements, wildcards and nested values", () => {
      const paths = {
        first: "$.resources[0]",
        last: "$.resources[-1]",
        beyond: "$.resources[9]",
        all: "$.resources[*]",
        ids: "$.detail.items[*].id",
        deep: "$.detail.obj.b[1].c",
        none: "$.detail.items[*].nope",
      };
      assert.equal(
        run(
          transformer(
            paths,
            '{"f": <first>, "l": <last>, "b": <beyond>, "a": <all>, "i": <ids>, "d": <deep>, "n": <none>}',
          ),
        ),
        '{"f":"arn:a","l":"arn:b","b":"","a":["arn:a","arn:b"],"i":["i1","i2"],"d":"d e","n":[]}',
      );
    });

    it("works without InputPathsMap when the template uses only predefined variables or none", () => {
      assert.equal(run({ InputTransformer: { InputTemplate: '{"fixed": 1}' } }), '{"fixed":1}');
      assert.equal(run({ InputTransformer: { InputTemplate: "<aws.events.rule-name>" } }), "example");
    });

    it("reuses one compiled transform across events", () => {
      const transform = compileTransform(transformer({ s: "$.detail.s", t: "$.detail.t" }, '"<s>/<t>"'));
      assert.equal(transform('{"detail":{"s":"a","t":"b"}}', CTX), '"a/b"');
      assert.equal(transform('{"detail":{"s":"c"}}', CTX), '"c/"');
      assert.equal(transform('{"detail":{"t":"d","s":"e"}}', CTX), '"e/d"');
    });
  });

  describe("InputTransformer: predefined variables", () => {
    it("gives the rule's ARN and name and the ingestion time", () => {
      const template =
        '{"arn": <aws.events.rule-arn>, "name": "<aws.events.rule-name>", "at": <aws.events.event.ingestion-time>}';
      assert.equal(
        run({ InputTransformer: { InputTemplate: template } }),
        '{"arn":"arn:aws:events:us-east-2:123456789012:rule/example","name":"example","at":"2015-11-11T21:29:55Z"}',
      );
    });

    it("escapes a rule name that needs it", () => {
      const ctx = { ...CTX, ruleName: 'a"b' };
      assert.equal(
        run({ InputTransformer: { InputTemplate: '{"n": <aws.events.rule-name>}' } }, EVENT, ctx),
        '{"n":"a\\"b"}',
      );
    });

    it("gives the whole event, minified, as <aws.events.event.json>", () => {
      assert.equal(
        run({ InputTransformer: { InputTemplate: "[<aws.events.event.json>]" } }, EC2_EVENT),
        `[${minified(EC2_EVENT)}]`,
      );
    });

    it("gives the event without detail as <aws.events.event>", () => {
      const out = JSON.parse(
        run({ InputTransformer: { InputTemplate: '{"e": <aws.events.event>}' } }, EC2_EVENT),
      ) as {
        e: Record<string, unknown>;
      };
      assert.deepEqual(out.e, {
        id: "7bf73129-1428-4cd3-a780-95db273d1602",
        account: "123456789012",
        detailType: "EC2 Instance State-change Notification",
        time: "2015-11-11T21:29:54Z",
        source: "aws.ec2",
        region: "us-east-1",
        resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
        version: "0",
      });
    });

    it("only allows the event variables as JSON values", () => {
      for (const template of [
        '"<aws.events.event>"',
        '{"e": "x <aws.events.event.json>"}',
        "event: <aws.events.event.json>",
      ]) {
        assertTransformError(
          () => compileTransform({ InputTransformer: { InputTemplate: template } }),
          "INVALID_TRANSFORMATION",
          "InputTransformer.InputTemplate",
        );
      }
    });

    it("does not let InputPathsMap redefine them", () => {
      for (const name of ["aws.events.rule-name", "aws.custom", "AWS.x"]) {
        assertTransformError(
          () => compileTransform(transformer({ [name]: "$.id" }, `"<${name}>"`)),
          "INVALID_TRANSFORMATION",
          `InputTransformer.InputPathsMap.${name}`,
        );
      }
    });
  });

  describe("invalid transformations", () => {
    const paths = { a: "$.detail.str", b: "$.detail.int" };
    const invalidTemplates: Array<[why: string, template: string]> = [
      ["an undefined variable in JSON", '{"a": <a>, "z": <zzz>}'],
      ["a variable as an object key", "{<a>: 1}"],
      ["a variable inside an object key", '{"k<a>": 1}'],
      ["a variable as a later object key", '{"x": 1, <a>: 2}'],
      ["an unclosed object", '{"a": <a>'],
      ["a variable glued to a number", '{"a": 1<b>}'],
      ["a negated variable", '{"a": -<b>}'],
      ["two variables side by side", '{"x": [<a> <b>]}'],
      ["a trailing comma", '{"a": <a>,}'],
      ["an unquoted word", '{"a": hello}'],
      ["a raw newline inside a string", '{"a": "x\ny"}'],
    ];
    for (const [why, template] of invalidTemplates) {
      it(`rejects ${why}`, () => {
        assertTransformError(
          () => compileTransform(transformer(paths, template)),
          "INVALID_TRANSFORMATION",
          "InputTransformer.InputTemplate",
        );
      });
    }

    it("rejects a missing or empty InputTemplate", () => {
      for (const t of [{}, { InputTemplate: "" }, { InputTemplate: 5 }, { InputPathsMap: paths }]) {
        assertTransformError(() => compileTransform({ InputTransformer: t }), "INVALID_TRANSFORMATION");
      }
    });

    it("rejects an InputTransformer that is not a structure, or a map that is not a map", () => {
      assertTransformError(
        () => compileTransform({ InputTransformer: "x" }),
        "INVALID_TRANSFORMATION",
        "InputTransformer",
      );
      assertTransformError(
        () => compileTransform({ InputTransformer: { InputPathsMap: ["$.a"], InputTemplate: "x" } }),
        "INVALID_TRANSFORMATION",
        "InputTransformer.InputPathsMap",
      );
    });

    it("rejects more than 100 variables", () => {
      const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`v${i}`, "$.id"]));
      assertTransformError(() => compileTransform(transformer(many, "x")), "INVALID_TRANSFORMATION");
      const hundred = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`v${i}`, "$.id"]));
      assert.equal(run(transformer(hundred, "<v0>-<v99>")), "e-1-e-1");
    });

    it("rejects a variable name or path that is not valid", () => {
      assertTransformError(
        () => compileTransform(transformer({ "a b": "$.id" }, "x")),
        "INVALID_TRANSFORMATION",
      );
      assertTransformError(
        () => compileTransform(transformer({ a: "detail.x" }, "<a>")),
        "INVALID_TRANSFORMATION",
        "InputTransformer.InputPathsMap.a",
      );
      assertTransformError(
        () => compileTransform(transformer({ a: 5 } as unknown as Record<string, string>, "<a>")),
        "INVALID_TRANSFORMATION",
        "InputTransformer.InputPathsMap.a",
      );
    });

    it("rejects more than one of Input, InputPath and InputTransformer", () => {
      assertTransformError(() => compileTransform({ Input: "1", InputPath: "$" }), "INVALID_TRANSFORMATION");
      assertTransformError(
        () => compileTransform({ InputPath: "$", InputTransformer: { InputTemplate: "x" } }),
        "INVALID_TRANSFORMATION",
      );
    });

    it("reports an event that is not JSON as INVALID_EVENT_JSON", () => {
      const transform = compileTransform(transformer(paths, "<a>"));
      assertTransformError(
        () => transform('{"detail": {"str": tru}}', CTX),
        TransformErrorCode.InvalidEventJson,
        "event",
      );
      assertTransformError(() => transform('{"detail": {"x": "unterminated}}', CTX), "INVALID_EVENT_JSON");
    });

    it("refuses to make a payload over 256 KiB, without building it", () => {
      // 1,500 copies of a 200 KB event would be 300 MB; the transform stops past the limit.
      const big = JSON.stringify({ detail: { s: "x".repeat(200_000) } });
      const template = `[${Array.from({ length: 1500 }, () => "<e>").join(",")}]`;
      const started = performance.now();
      const error = assertTransformError(
        () => compileTransform(transformer({ e: "$" }, template))(big, CTX),
        TransformErrorCode.PayloadTooLarge,
        "InputTransformer.InputTemplate",
      );
      assert.match(error.message, /262144 bytes/);
      assert.ok(performance.now() - started < 200, `took ${performance.now() - started} ms`);
      // Bytes, not characters: 100,000 three-byte characters are 300,000 bytes.
      const wide = JSON.stringify({ detail: { s: "€".repeat(100_000) } });
      assertTransformError(
        () => compileTransform(transformer({ s: "$.detail.s" }, "<s>"))(wide, CTX),
        TransformErrorCode.PayloadTooLarge,
      );
      // Up to the limit is fine.
      const fits = JSON.stringify({ detail: { s: "y".repeat(100_000) } });
      assert.equal(compileTransform(transformer({ s: "$.detail.s" }, "<s><s>"))(fits, CTX).length, 200_000);
    });
  });
});
