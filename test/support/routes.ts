// The route discovery the OpenAPI document is completed with (src/http/served-routes.ts): the
// access matrix checks the same list of routes the document's conventions are applied to.
export {
  servedRoutes,
  templateOfOpenApiPath,
  type ServedRoute,
} from '../../src/http/served-routes';
