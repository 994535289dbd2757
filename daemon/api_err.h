/*
 * api_err.h: every error code sesd answers with, its exact wire spelling
 * (ses-api.md 1.7 and section 5; note the odd casing of some) and a default
 * message. X-macro: API_ERR(enum, "Code", "default message").
 * Append new codes at the end of their group.
 */
#ifndef SESD_API_ERR_H
#define SESD_API_ERR_H

#define API_ERRORS(X)                                                          \
	/* common (API 3.0) */                                                 \
	X(E_AUTH_INVALID, "AuthFailure.InvalidAuthorization",                  \
	    "The Authorization header is missing or not TC3-HMAC-SHA256.")     \
	X(E_AUTH_SECRET_ID, "AuthFailure.SecretIdNotFound",                    \
	    "The SecretId is not found, please ensure that your SecretId is "  \
	    "correct.")                                                        \
	X(E_AUTH_EXPIRE, "AuthFailure.SignatureExpire", "Signature expired.")  \
	X(E_AUTH_SIGNATURE, "AuthFailure.SignatureFailure",                    \
	    "The provided credentials could not be validated. Please check "   \
	    "your signature is correct.")                                      \
	X(E_AUTH_TOKEN, "AuthFailure.TokenFailure",                            \
	    "Temporary credentials (X-TC-Token) are not supported by sesd.")   \
	X(E_INVALID_ACTION, "InvalidAction", "The action is not supported.")   \
	X(E_NO_SUCH_VERSION, "NoSuchVersion",                                  \
	    "The API version is not supported; use 2020-10-02.")               \
	X(E_INVALID_PARAMETER, "InvalidParameter",                             \
	    "A parameter has the wrong format or type.")                       \
	X(E_INVALID_PARAMETER_VALUE, "InvalidParameterValue",                  \
	    "A parameter value is not allowed.")                               \
	X(E_MISSING_PARAMETER, "MissingParameter",                             \
	    "A required parameter is missing.")                                \
	X(E_UNKNOWN_PARAMETER, "UnknownParameter",                             \
	    "A parameter is not recognized.")                                  \
	X(E_REQUEST_LIMIT, "RequestLimitExceeded",                             \
	    "The request rate limit is exceeded.")                             \
	X(E_REQUEST_SIZE, "RequestSizeLimitExceeded",                          \
	    "The request body is too large.")                                  \
	X(E_UNSUPPORTED_PROTOCOL, "UnsupportedProtocol",                       \
	    "Only GET and POST requests are supported.")                       \
	X(E_INTERNAL, "InternalError", "Internal error.")                      \
	X(E_SERVICE_UNAVAILABLE, "ServiceUnavailable",                         \
	    "The database is unavailable; please retry later.")                \
	X(E_FAILED_OPERATION, "FailedOperation", "The operation failed.")      \
	X(E_INVALID_LIMIT, "FailedOperation.InvalidLimit",                     \
	    "Limit must be between 1 and 100 and Offset at least 0.")          \
	X(E_LIMIT_EXCEEDED, "LimitExceeded", "A quota is exceeded.")           \
	X(E_OPERATION_DENIED, "OperationDenied", "The operation is denied.")   \
	X(E_RESOURCE_NOT_FOUND, "ResourceNotFound",                            \
	    "The resource does not exist.")                                    \
	X(E_UNSUPPORTED_OPERATION, "UnsupportedOperation",                     \
	    "The operation is not supported.")                                 \
	/* identities */                                                       \
	X(E_INVALID_IDENTITY, "InvalidParameterValue.InvalidEmailIdentity",    \
	    "The domain is not valid.")                                        \
	X(E_CREATED_BY_OTHER, "InvalidParameterValue.CreatedByOther",          \
	    "The domain is registered by another account.")                    \
	X(E_REPEAT_CREATION, "InvalidParameterValue.RepeatCreation",           \
	    "The domain already exists.")                                      \
	X(E_EXCEED_DOMAIN_LIMIT, "OperationDenied.ExceedDomainLimit",          \
	    "The account has reached its sender-domain limit.")                \
	X(E_NOT_EXIST_DOMAIN, "InvalidParameterValue.NotExistDomain",          \
	    "The domain does not exist.")                                      \
	X(E_SENDER_WITH_DOMAIN, "OperationDenied.SenderWithDomainIsNotEmpty",  \
	    "Delete the sender addresses of this domain first.")               \
	/* sender addresses */                                                 \
	X(E_ILLEGAL_ADDRESS, "InvalidParameterValue.IllegalEmailAddress",      \
	    "The email address is not valid.")                                 \
	X(E_ILLEGAL_SENDER_NAME, "InvalidParameterValue.IllegalSenderName",    \
	    "The sender name is not valid.")                                   \
	X(E_REPEAT_ADDRESS, "InvalidParameterValue.RepeatEmailAddress",        \
	    "The sender address already exists.")                              \
	X(E_DOMAIN_NOT_VERIFIED, "OperationDenied.DomainNotVerified",          \
	    "The domain of the address is not a verified identity of this "    \
	    "account.")                                                        \
	X(E_EXCEED_SENDER_LIMIT, "OperationDenied.ExceedSenderLimit",          \
	    "The account has reached its sender-address limit.")               \
	X(E_NO_SUCH_SENDER, "InvalidParameterValue.NoSuchSender",              \
	    "The sender address does not exist.")                              \
	/* templates */                                                        \
	X(E_EXCEED_TEMPLATE_LIMIT, "FailedOperation.ExceedTemplateLimit",      \
	    "The account has reached its template limit.")                     \
	X(E_TEMPLATE_TOO_LARGE, "FailedOperation.TemplateContentToolarge",     \
	    "The template content is too large.")                              \
	X(E_TEMPLATE_CONTENT_NULL,                                             \
	    "InvalidParameterValue.TemplateContentIsNULL",                     \
	    "TemplateContent needs Html or Text.")                             \
	X(E_TEMPLATE_CONTENT_WRONG,                                            \
	    "InvalidParameterValue.TemplateContentIsWrong",                    \
	    "The template content is not valid base64 of UTF-8 text.")         \
	X(E_TEMPLATE_NAME_ILLEGAL,                                             \
	    "InvalidParameterValue.TemplateNameIllegal",                       \
	    "The template name is not valid.")                                 \
	X(E_TEMPLATE_NAME_NULL, "InvalidParameterValue.TemplateNameIsNULL",    \
	    "The template name is empty.")                                     \
	X(E_TEMPLATE_NOT_EXIST, "InvalidParameterValue.TemplateNotExist",      \
	    "The template does not exist.")                                    \
	/* recipient lists */                                                  \
	X(E_RECEIVER_DESC_ILLEGAL,                                             \
	    "InvalidParameterValue.ReceiverDescIllegal",                       \
	    "The description must be 1 to 300 characters.")                    \
	X(E_RECEIVER_NAME_ILLEGAL,                                             \
	    "InvalidParameterValue.ReceiverNameIllegal",                       \
	    "The list name is not valid.")                                     \
	X(E_REPEAT_RECEIVER_NAME, "InvalidParameterValue.RepeatReceiverName",  \
	    "A recipient list with this name exists.")                         \
	X(E_EXCEED_RECEIVER_LIMIT, "LimitExceeded.ExceedReceiverLimit",        \
	    "The account has reached its recipient-list limit.")               \
	X(E_TEMPLATE_DATA_ERROR, "InvalidParameterValue.TemplateDataError",    \
	    "TemplateData is not a JSON object of strings.")                   \
	X(E_TEMPLATE_DATA_INCONSISTENT,                                        \
	    "InvalidParameterValue.TemplateDataInconsistent",                  \
	    "TemplateData keys differ from those of the list.")                \
	X(E_TEMPLATE_DATA_LEN, "InvalidParameterValue.TemplateDataLenLimit",   \
	    "TemplateData is longer than 800 bytes.")                          \
	X(E_INVALID_TEMPLATE_DATA,                                             \
	    "InvalidParameterValue.InValidTemplateData",                       \
	    "TemplateData values must not contain HTML tags.")                 \
	X(E_RECEIVER_EMAIL_INVALID,                                            \
	    "InvalidParameterValue.ReceiverEmailInvalid",                      \
	    "A recipient address is not valid.")                               \
	X(E_DETAIL_COUNT_LIMIT, "LimitExceeded.ReceiverDetailCountLimit",      \
	    "The recipient list would exceed its address limit.")              \
	X(E_DETAIL_REQUEST_LIMIT, "LimitExceeded.ReceiverDetailRequestLimit",  \
	    "Too many addresses in one request.")                              \
	X(E_EMAILS_NECESSARY, "MissingParameter.EmailsNecessary",              \
	    "Addresses are required.")                                         \
	X(E_RECEIVER_ID_NECESSARY, "MissingParameter.ReceiverIdNecessary",     \
	    "ReceiverId is required.")                                         \
	X(E_RECEIVER_OPERATING, "OperationDenied.ReceiverIsOperating",         \
	    "The recipient list is being uploaded; retry when it is done.")    \
	X(E_RECEIVER_NOT_EXIST, "OperationDenied.ReceiverNotExist",            \
	    "The recipient list does not exist.")                              \
	/* custom blacklist */                                                 \
	X(E_WRONG_DATE, "InvalidParameterValue.WrongDate",                     \
	    "The date must be YYYY-MM-DD.")                                    \
	/* sending */                                                          \
	X(E_SEND_PARAM_NECESSARY, "MissingParameter.SendParamNecessary",       \
	    "FromEmailAddress, ReceiverId and Template are required.")         \
	X(E_TIMED_PARAM_NECESSARY, "MissingParameter.TimedParamNecessary",     \
	    "TaskType 2 needs TimedParam with BeginTime.")                     \
	X(E_CYCLE_PARAM_NECESSARY, "MissingParameter.CycleParamNecessary",     \
	    "TaskType 3 needs CycleParam with BeginTime and IntervalTime.")    \
	X(E_SUBJECT_LENGTH, "InvalidParameterValue.SubjectLengthError",        \
	    "Subject must be 1 to 100 characters.")                            \
	X(E_BEGIN_TIME_BEFORE_NOW, "InvalidParameterValue.BeginTimeBeforeNow", \
	    "BeginTime is in the past.")                                       \
	X(E_TEMPLATE_NOT_MATCH_DATA,                                           \
	    "InvalidParameterValue.TemplateNotMatchData",                      \
	    "The template variables are not covered by the template data.")    \
	X(E_EMAIL_ADDRESS_NULL, "InvalidParameterValue.EmailAddressIsNULL",    \
	    "An email address is empty.")                                      \
	X(E_SEND_ADDRESS_STATUS, "OperationDenied.SendAddressStatusError",     \
	    "The sender address is not usable.")                               \
	X(E_RECEIVER_STATUS, "OperationDenied.ReceiverStatusError",            \
	    "The recipient list is not complete or is empty.")                 \
	X(E_TEMPLATE_STATUS, "OperationDenied.TemplateStatusError",            \
	    "The template does not exist or is not approved.")                 \
	X(E_WITHOUT_PERMISSION, "FailedOperation.WithOutPermission",           \
	    "Only templates may be sent; Simple content is not permitted.")    \
	X(E_MISSING_EMAIL_CONTENT, "FailedOperation.MissingEmailContent",      \
	    "Template is required.")                                           \
	X(E_NO_ATTACH_PERMISSION, "FailedOperation.NoAttachPermission",        \
	    "Attachments are not supported.")                                  \
	X(E_TOO_MANY_RECIPIENTS, "FailedOperation.TooManyRecipients",          \
	    "Too many recipients.")                                            \
	X(E_INCORRECT_EMAIL, "FailedOperation.IncorrectEmail",                 \
	    "An email address is not valid.")                                  \
	X(E_INCORRECT_SENDER, "FailedOperation.IncorrectSender",               \
	    "The sender is not valid.")                                        \
	X(E_NOT_AUTHENTICATED_SENDER,                                          \
	    "FailedOperation.NotAuthenticatedSender",                          \
	    "The sender address is not a registered address on a verified "    \
	    "domain.")                                                         \
	X(E_INVALID_TEMPLATE_ID, "FailedOperation.InvalidTemplateID",          \
	    "The template does not exist or is not approved.")                 \
	X(E_WRONG_CONTENT_JSON, "FailedOperation.WrongContentJson",            \
	    "TemplateData is not a JSON object of strings.")                   \
	X(E_RECEIVER_UNSUBSCRIBED, "FailedOperation.ReceiverHasUnsubscribed",  \
	    "A recipient has unsubscribed from this sender domain.")           \
	X(E_EMAIL_IN_BLACKLIST, "FailedOperation.EmailAddrInBlacklist",        \
	    "A recipient is on the blacklist.")                                \
	/* status */                                                           \
	X(E_NOT_SUPPORT_DATE, "FailedOperation.NotSupportDate",                \
	    "The date is outside the period for which records are kept.")

enum api_err {
#define API_ERR_ENUM(e, code, msg) e,
	API_OK = 0,
	API_ERRORS(API_ERR_ENUM)
#undef API_ERR_ENUM
	    API_ERR_COUNT
};

#endif
