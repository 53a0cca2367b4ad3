package m365

import (
	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	formser "github.com/microsoft/kiota-serialization-form-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	multipartser "github.com/microsoft/kiota-serialization-multipart-go"
	textser "github.com/microsoft/kiota-serialization-text-go"
	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/directory"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/organization"
	"github.com/microsoftgraph/msgraph-sdk-go/subscribedskus"
	"github.com/microsoftgraph/msgraph-sdk-go/tenantrelationships"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// graphClient hands out the request builders of the Graph resources the
// connector uses. It stands in for msgraph-sdk-go's GraphServiceClient,
// whose package imports every top-level Graph resource (some eighty
// packages, minutes of compiling and gigabytes of memory on a first build)
// to offer builders cippbot never calls. The builders are the SDK's own,
// built from the same path parameters and adapter the service client would
// pass them, so the URLs, query parameters and bodies are unchanged.
//
// To use another resource, add a method here in the same way; the
// dependency test in cmd/cippbot bounds how many SDK packages are linked.
type graphClient struct {
	adapter abs.RequestAdapter
	params  map[string]string // {"baseurl": adapter's base URL}; builders copy it
}

// newGraphClient does what msgraph-sdk-go's NewGraphServiceClient does for
// the adapter: registers the default serializers and parsers, defaults the
// base URL to the global cloud's v1.0 (the connector always sets its own
// first), records it for the builders and enables the backing store.
func newGraphClient(adapter abs.RequestAdapter) *graphClient {
	abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return jsonser.NewJsonSerializationWriterFactory() })
	abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return textser.NewTextSerializationWriterFactory() })
	abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return formser.NewFormSerializationWriterFactory() })
	abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory {
		return multipartser.NewMultipartSerializationWriterFactory()
	})
	abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return jsonser.NewJsonParseNodeFactory() })
	abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return textser.NewTextParseNodeFactory() })
	abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return formser.NewFormParseNodeFactory() })
	if adapter.GetBaseUrl() == "" {
		adapter.SetBaseUrl(DefaultGraphURL + "/v1.0")
	}
	g := &graphClient{adapter: adapter, params: map[string]string{"baseurl": adapter.GetBaseUrl()}}
	// nil keeps kiota's global factory (BackingStoreFactoryInstance) as it
	// is: passing it in writes it back, a data race between two connectors
	// in one process (parallel tests).
	adapter.EnableBackingStore(nil)
	return g
}

// Users is /users.
func (g *graphClient) Users() *users.UsersRequestBuilder {
	return users.NewUsersRequestBuilderInternal(g.params, g.adapter)
}

// Groups is /groups.
func (g *graphClient) Groups() *groups.GroupsRequestBuilder {
	return groups.NewGroupsRequestBuilderInternal(g.params, g.adapter)
}

// Directory is /directory.
func (g *graphClient) Directory() *directory.DirectoryRequestBuilder {
	return directory.NewDirectoryRequestBuilderInternal(g.params, g.adapter)
}

// SubscribedSkus is /subscribedSkus.
func (g *graphClient) SubscribedSkus() *subscribedskus.SubscribedSkusRequestBuilder {
	return subscribedskus.NewSubscribedSkusRequestBuilderInternal(g.params, g.adapter)
}

// AuditLogs is /auditLogs.
func (g *graphClient) AuditLogs() *auditlogs.AuditLogsRequestBuilder {
	return auditlogs.NewAuditLogsRequestBuilderInternal(g.params, g.adapter)
}

// Organization is /organization.
func (g *graphClient) Organization() *organization.OrganizationRequestBuilder {
	return organization.NewOrganizationRequestBuilderInternal(g.params, g.adapter)
}

// TenantRelationships is /tenantRelationships.
func (g *graphClient) TenantRelationships() *tenantrelationships.TenantRelationshipsRequestBuilder {
	return tenantrelationships.NewTenantRelationshipsRequestBuilderInternal(g.params, g.adapter)
}
