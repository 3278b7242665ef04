import type { FastifyBaseLogger } from 'fastify'
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose'
import { authUnavailable, invalidCredentials, type VersoError } from '../errors.js'
import type { Caller } from './caller.js'
import { scopesOfClaims } from './scopes.js'
import type { AuthSettings } from './settings.js'
import { callerIdOf, MAX_SUBJECT_LENGTH } from './subject.js'

type JwtSettings = Extract<AuthSettings, { mode: 'jwt' }>

/** HS256 with a shared secret; with a JWKS only asymmetric algorithms, so a public key can never serve as an HMAC secret. */
export const SECRET_ALGORITHMS = ['HS256']
export const JWKS_ALGORITHMS = ['RS256', 'ES256']

const CLAIM_PROBLEMS: Record<string, string> = {
  nbf: 'The token is not valid yet (nbf).',
  exp: 'The token has no expiry time (exp).',
  iss: 'The token\'s issuer (iss) is not accepted.',
  aud: 'The token\'s audience (aud) is not accepted.',
  iat: 'The token\'s issue time (iat) is not valid.'
}

/** A fixed message per failure: what the client may learn, never the token, a key or a library message. */
function toProblem (err: unknown, log: FastifyBaseLogger): VersoError {
  if (err instanceof errors.JWTExpired) return invalidCredentials('The token has expired.')
  if (err instanceof errors.JWTClaimValidationFailed) return invalidCredentials(CLAIM_PROBLEMS[err.claim] ?? 'The token\'s claims are not valid.')
  if (err instanceof errors.JOSEAlgNotAllowed) return invalidCredentials('The token\'s signing algorithm is not accepted.')
  if (err instanceof errors.JWSSignatureVerificationFailed) return invalidCredentials('The token\'s signature does not verify.')
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return invalidCredentials('No key of the issuer\'s key set matches the token.')
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported || err instanceof errors.JWKInvalid) {
    return invalidCredentials('The token is malformed.')
  }
  // The rest is the key set's fault (unreachable, slow, not a JWKS): not the caller's.
  log.warn({ err }, 'the JWKS that verifies tokens could not be fetched')
  return authUnavailable()
}

/** Verifies bearer tokens with jose and turns their subject and scopes into a Caller. */
export function jwtVerifier (settings: JwtSettings, log: FastifyBaseLogger): (token: string) => Promise<Caller> {
  const options: JWTVerifyOptions = {
    algorithms: 'secret' in settings.key ? SECRET_ALGORITHMS : JWKS_ALGORITHMS,
    clockTolerance: settings.clockSkewS,
    requiredClaims: ['exp'],
    ...(settings.issuer === undefined ? {} : { issuer: settings.issuer }),
    ...(settings.audience === undefined ? {} : { audience: settings.audience })
  }
  let verify: (token: string) => Promise<{ payload: JWTPayload }>
  if ('secret' in settings.key) {
    const secret = settings.key.secret
    verify = async (token) => await jwtVerify(token, secret, options)
  } else {
    // jose caches the key set (10 min), refetches on an unknown kid at most every 30 s, and times out after 5 s.
    const jwks = createRemoteJWKSet(settings.key.jwksUrl)
    verify = async (token) => await jwtVerify(token, jwks, options)
  }
  return async (token) => {
    let payload: JWTPayload
    try {
      ({ payload } = await verify(token))
    } catch (err) {
      throw toProblem(err, log)
    }
    if (payload.sub === undefined) throw invalidCredentials('The token has no subject (sub).')
    const id = callerIdOf(payload.sub)
    if (id === undefined) {
      throw invalidCredentials(`The token's subject (sub) cannot be a caller id: a UUID, or at most ${MAX_SUBJECT_LENGTH} letters, digits and - . _ ~ : @ | + = /.`)
    }
    return { id, scopes: scopesOfClaims(payload) }
  }
}
