import { synthesize } from '../cdk/synth';

/** Personal data never at rest in clear (issue #13, defect 8; DESIGN.md: the IP address once it has served network matching). */
describe('review: API Gateway access logs', () => {
  it('keep no client IP address in clear (the stage logs $context.identity.sourceIp for three months)', () => {
    const { template } = synthesize();
    const stages = Object.values(template.findResources('AWS::ApiGatewayV2::Stage')) as Array<{ Properties: { AccessLogSettings: { Format: string } } }>;
    expect(stages.map((s) => s.Properties.AccessLogSettings.Format).filter((f) => f.includes('sourceIp'))).toEqual([]);
  });
});
